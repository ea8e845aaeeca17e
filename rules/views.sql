-- Tables shared by several rules, computed once per check after the ledger is loaded
-- (a view would be recomputed by every rule that reads it). No parameters: each rule
-- filters by $regions and $years itself. Not TEMP tables: the engine creates them, and
-- runs the rules, on several cursors at once, and a TEMP table is seen by its own only.
-- Each is created as soon as the tables it names exist. Last, per_student_floor: the one
-- query of the floor rules, a table macro each rule calls with its own parameters.
--
-- "General-budget" money is what a region's profile counts as 一般公共预算教育支出 in that
-- year (the parameter general_budget_fund_sources: the national statistics announcements
-- count 教育费附加 in): the engine writes table general_budget_sources (region_code, year,
-- fund_source) before this file runs, and every table below reads money through it.

-- Region-years whose budget rows are all drafts (口径 = 预算): a budget not yet adopted.
-- The DRAFT_* rules check it against the previous year's final accounts; the rules on
-- final accounts do not treat it as a year with nothing spent.
CREATE OR REPLACE TABLE draft_only_region_years AS
SELECT region_code, year
FROM budget
GROUP BY region_code, year
HAVING count(*) FILTER (WHERE basis IS DISTINCT FROM 'budget') = 0;

-- Public funds (公用经费) of public schools from the general public budget (final
-- accounts) per enrolled public student: one row per school that has school-level
-- budget rows, and one row per region x year x level (all public rows of the level,
-- school-level and region-level alike). `school_id` is NULL on the region rows.
CREATE OR REPLACE TABLE public_funds_per_student AS
-- A school has one row a year in most ledgers: grouping millions of single rows (names and
-- row lists included) cost more than the rest of this table at national scale. Rows
-- whose school key hash is repeated are grouped, by the key itself (two schools sharing a
-- hash are told apart); the others are taken as they are. Anti and semi joins, not
-- NOT IN (subquery), which Spark plans as a broadcast of the subquery's rows whatever their
-- size (tests/bench/RESULTS.md, Spark); the same rows, k being a hash, never NULL.
WITH money_rows AS (
    SELECT b.*, hash(b.region_code, b.year, b.level, b.school_id) AS k
    FROM budget b
    SEMI JOIN general_budget_sources g
      ON g.region_code = b.region_code AND g.year = b.year AND g.fund_source = b.fund_source
    WHERE b.expense_class = 'public_funds' AND b.ownership = 'public' AND b.basis = 'final'
),
money_repeated AS (
    SELECT k FROM money_rows WHERE school_id IS NOT NULL GROUP BY k HAVING count(*) > 1
),
school_money AS (
    SELECT region_code, year, level, school_id, region_name, school_name, amount, [_row] AS budget_rows
    FROM money_rows m ANTI JOIN money_repeated r ON r.k = m.k
    WHERE school_id IS NOT NULL
    UNION ALL
    SELECT region_code, year, level, school_id, min(region_name), min(school_name), sum(amount), list(_row)
    FROM money_rows m SEMI JOIN money_repeated r ON r.k = m.k
    WHERE school_id IS NOT NULL
    GROUP BY region_code, year, level, school_id
),
region_money AS (
    SELECT region_code, year, level, min(region_name) AS region_name, sum(amount) AS amount,
           list(_row) AS budget_rows
    FROM money_rows
    GROUP BY region_code, year, level
),
head_rows AS (
    SELECT *, hash(region_code, year, level, school_id) AS k FROM enrollment WHERE ownership = 'public'
),
heads_repeated AS (
    SELECT k FROM head_rows WHERE school_id IS NOT NULL GROUP BY k HAVING count(*) > 1
),
school_heads AS (
    SELECT region_code, year, level, school_id, school_name, students, [_row] AS enrollment_rows
    FROM head_rows h ANTI JOIN heads_repeated r ON r.k = h.k
    WHERE school_id IS NOT NULL
    UNION ALL
    SELECT region_code, year, level, school_id, min(school_name), sum(students), list(_row)
    FROM head_rows h SEMI JOIN heads_repeated r ON r.k = h.k
    WHERE school_id IS NOT NULL
    GROUP BY region_code, year, level, school_id
),
region_heads AS (
    SELECT region_code, year, level, min(region_name) AS region_name, sum(students) AS students,
           list(_row) AS enrollment_rows
    FROM head_rows
    GROUP BY region_code, year, level
),
schools AS (
    SELECT m.region_code, m.region_name, m.year, m.level, m.school_id,
           coalesce(m.school_name, h.school_name) AS school_name,
           m.amount, h.students, m.budget_rows, coalesce(h.enrollment_rows, []) AS enrollment_rows
    FROM school_money m
    LEFT JOIN school_heads h ON h.region_code = m.region_code AND h.year = m.year
                            AND h.level = m.level AND h.school_id = m.school_id
),
regions AS (
    SELECT coalesce(m.region_code, h.region_code) AS region_code,
           coalesce(m.region_name, h.region_name) AS region_name,
           coalesce(m.year, h.year) AS year,
           coalesce(m.level, h.level) AS level,
           CAST(NULL AS VARCHAR) AS school_id, CAST(NULL AS VARCHAR) AS school_name,
           m.amount, h.students,     -- NULL, not 0, when the ledger has no public-funds row
           coalesce(m.budget_rows, []) AS budget_rows, coalesce(h.enrollment_rows, []) AS enrollment_rows
    FROM region_money m
    FULL JOIN region_heads h ON h.region_code = m.region_code AND h.year = m.year AND h.level = m.level
)
SELECT *, amount / nullif(students, 0) AS per_student FROM schools
UNION ALL
SELECT *, amount / nullif(students, 0) AS per_student FROM regions r
WHERE NOT EXISTS (SELECT 1 FROM draft_only_region_years d WHERE d.region_code = r.region_code AND d.year = r.year);

-- The same measure for private schools (民办): general-budget public funds a region pays them
-- per enrolled private student, per school with school-level rows and per region x year x
-- level, with the columns of public_funds_per_student. 国发〔2015〕67号 funds compulsory schools
-- "（含民办学校）" at no less than the benchmark (FLOOR_COMPULSORY_BENCHMARK, check `private`).
-- Private rows are few: plain grouping, without the repeated-key shortcut above.
CREATE OR REPLACE TABLE private_funds_per_student AS
WITH money AS (
    SELECT region_code, year, level, school_id, grouping(school_id) = 1 AS region_total,
           min(region_name) AS region_name, min(school_name) AS school_name,
           sum(amount) AS amount, list(_row) AS budget_rows
    FROM budget b
    SEMI JOIN general_budget_sources g
      ON g.region_code = b.region_code AND g.year = b.year AND g.fund_source = b.fund_source
    WHERE expense_class = 'public_funds' AND ownership = 'private' AND basis = 'final'
    GROUP BY GROUPING SETS ((region_code, year, level, school_id), (region_code, year, level))
),
heads AS (
    SELECT region_code, year, level, school_id, grouping(school_id) = 1 AS region_total,
           min(region_name) AS region_name, min(school_name) AS school_name,
           sum(students) AS students, list(_row) AS enrollment_rows
    FROM enrollment
    WHERE ownership = 'private'
    GROUP BY GROUPING SETS ((region_code, year, level, school_id), (region_code, year, level))
),
measured AS (
    SELECT m.region_code, m.region_name, m.year, m.level, m.school_id,
           coalesce(m.school_name, h.school_name) AS school_name,
           m.amount, h.students, m.budget_rows, coalesce(h.enrollment_rows, []) AS enrollment_rows
    FROM money m
    LEFT JOIN heads h ON h.region_code = m.region_code AND h.year = m.year AND h.level = m.level
                     AND h.school_id = m.school_id AND NOT h.region_total
    WHERE NOT m.region_total AND m.school_id IS NOT NULL
    UNION ALL
    SELECT coalesce(m.region_code, h.region_code), coalesce(m.region_name, h.region_name),
           coalesce(m.year, h.year), coalesce(m.level, h.level),
           CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), m.amount, h.students,
           coalesce(m.budget_rows, []), coalesce(h.enrollment_rows, [])
    FROM (SELECT * FROM money WHERE region_total) m
    FULL JOIN (SELECT * FROM heads WHERE region_total) h
      ON h.region_code = m.region_code AND h.year = m.year AND h.level = m.level
)
SELECT *, amount / nullif(students, 0) AS per_student FROM measured r
WHERE NOT EXISTS (SELECT 1 FROM draft_only_region_years d WHERE d.region_code = r.region_code AND d.year = r.year);

-- Every region and year the ledger's budget or enrollment speaks of: the subjects a
-- rule on another sheet must still answer for (as not evaluable when that sheet is silent).
CREATE OR REPLACE TABLE audited_region_years AS
SELECT region_code, min(region_name) AS region_name, year
FROM (SELECT region_code, region_name, year FROM budget
      UNION ALL SELECT region_code, region_name, year FROM enrollment) a
WHERE NOT EXISTS (SELECT 1 FROM draft_only_region_years d WHERE d.region_code = a.region_code AND d.year = a.year)
GROUP BY region_code, year;

-- Public funds per public student in draft budgets (口径 = 预算), per school and per region x
-- year x level, for DRAFT_FLOORS. Students: the draft year's enrollment when the ledger
-- has it (planned), else the previous year's (the latest known); `students_from` says which.
-- A region's level that has students but no draft public-funds row is kept (amount NULL).
CREATE OR REPLACE TABLE draft_public_funds_per_student AS
WITH money AS (
    SELECT region_code, year, level, school_id,
           grouping(school_id) = 1 AS region_total,
           min(region_name) AS region_name, min(school_name) AS school_name,
           sum(amount) AS amount,
           list(_row) AS budget_rows
    FROM budget b
    SEMI JOIN general_budget_sources g
      ON g.region_code = b.region_code AND g.year = b.year AND g.fund_source = b.fund_source
    WHERE expense_class = 'public_funds' AND ownership = 'public' AND basis = 'budget'
    GROUP BY GROUPING SETS ((region_code, year, level, school_id), (region_code, year, level))
),
draft_years AS (
    SELECT region_code, year, min(region_name) AS region_name FROM budget WHERE basis = 'budget'
    GROUP BY region_code, year
),
-- Students of the draft years and of the years before them only: a ledger of final
-- accounts alone has none to group.
heads AS (
    SELECT region_code, year, level, school_id,
           grouping(school_id) = 1 AS region_total,
           min(region_name) AS region_name,
           sum(students) AS students,
           list(_row) AS enrollment_rows
    FROM enrollment e
    WHERE ownership = 'public'
      AND EXISTS (SELECT 1 FROM draft_years d WHERE d.region_code = e.region_code AND e.year IN (d.year, d.year - 1))
    GROUP BY GROUPING SETS ((region_code, year, level, school_id), (region_code, year, level))
),
subjects AS (
    -- schools with draft money, and every level of a draft region-year that has money or students
    SELECT region_code, year, level, school_id, FALSE AS region_total FROM money
    WHERE NOT region_total AND school_id IS NOT NULL
    UNION
    SELECT region_code, year, level, CAST(NULL AS VARCHAR), TRUE FROM money WHERE region_total
    UNION
    SELECT d.region_code, d.year, h.level, CAST(NULL AS VARCHAR), TRUE
    FROM draft_years d
    JOIN heads h ON h.region_total AND h.region_code = d.region_code AND h.year IN (d.year, d.year - 1)
)
SELECT s.region_code, coalesce(m.region_name, d.region_name) AS region_name, s.year, s.level, s.school_id,
       m.school_name, m.amount,
       coalesce(now_h.students, prev_h.students) AS students,
       CASE WHEN now_h.students IS NOT NULL THEN 'planned'
            WHEN prev_h.students IS NOT NULL THEN 'previous_year' END AS students_from,
       coalesce(m.budget_rows, []) AS budget_rows,
       coalesce(now_h.enrollment_rows, prev_h.enrollment_rows, []) AS enrollment_rows,
       m.amount / nullif(coalesce(now_h.students, prev_h.students), 0) AS per_student
FROM subjects s
JOIN draft_years d ON d.region_code = s.region_code AND d.year = s.year
LEFT JOIN money m ON m.region_code = s.region_code AND m.year = s.year AND m.level = s.level
                 AND m.region_total = s.region_total AND m.school_id IS NOT DISTINCT FROM s.school_id
LEFT JOIN heads now_h ON now_h.region_code = s.region_code AND now_h.year = s.year AND now_h.level = s.level
                     AND now_h.region_total = s.region_total AND now_h.school_id IS NOT DISTINCT FROM s.school_id
LEFT JOIN heads prev_h ON prev_h.region_code = s.region_code AND prev_h.year = s.year - 1 AND prev_h.level = s.level
                      AND prev_h.region_total = s.region_total AND prev_h.school_id IS NOT DISTINCT FROM s.school_id;

-- General-budget spending per region x year x level, and per region x year (level NULL:
-- every level, `other` included), of the final accounts (basis 'final') and of draft
-- budgets (basis 'budget') apart, with what the only-increase rules need for the
-- comparable (同口径) basis. Read by ONLY_INCREASE_TOTAL, ONLY_INCREASE_PER_STUDENT,
-- NEW_FUNDS_TILT_VOCATIONAL, DATA_MONEY_WITHOUT_STUDENTS and the two DRAFT_ONLY_INCREASE
-- rules, which grouped the budget this way each on its own.
CREATE OR REPLACE TABLE general_budget_by_level AS
SELECT region_code, year, basis, level,
       min(region_name) AS region_name,
       sum(amount) AS amount,
       count(*) AS n_rows,
       count(prior_year_comparable) AS n_restated,
       sum(prior_year_comparable) AS restated_prior,
       list(_row) AS budget_rows
FROM budget b
SEMI JOIN general_budget_sources g
  ON g.region_code = b.region_code AND g.year = b.year AND g.fund_source = b.fund_source
WHERE basis IN ('final', 'budget')
GROUP BY GROUPING SETS ((region_code, year, basis, level), (region_code, year, basis));

-- Enrolled students (all ownerships) per region x year x level, and per region x year
-- (level NULL), with the comparable-basis columns. Read by ONLY_INCREASE_PER_STUDENT,
-- DRAFT_ONLY_INCREASE_PER_STUDENT and DATA_MONEY_WITHOUT_STUDENTS.
CREATE OR REPLACE TABLE enrollment_by_level AS
SELECT region_code, year, level,
       sum(students) AS students,
       count(*) AS n_rows,
       count(prior_year_comparable) AS n_restated,
       sum(prior_year_comparable) AS restated_prior,
       list(_row) AS enrollment_rows
FROM enrollment
GROUP BY GROUPING SETS ((region_code, year, level), (region_code, year));

-- The fiscal sheet's final accounts (口径 决算, the default) per region x year (a repeated key
-- is DATA_DUPLICATE_KEY's, and is summed here). A column left empty stays NULL: not 0.
-- Read by the growth rules (recurring revenue), EDU_SHARE_OF_EXPENDITURE (total
-- expenditure) and FISCAL_EDU_GDP_SHARE (GDP, national fiscal education funding).
CREATE OR REPLACE TABLE fiscal_by_region AS
SELECT region_code, year, min(region_name) AS region_name,
       sum(recurring_revenue) AS revenue, sum(total_expenditure) AS expenditure,
       sum(gdp) AS gdp, sum(fiscal_education) AS fiscal_education,
       list(_row) AS fiscal_rows
FROM fiscal
WHERE basis IS DISTINCT FROM 'budget'
GROUP BY region_code, year;

-- The fiscal sheet's budgeted figures (口径 预算): the revenue a draft budget plans on, for
-- the pre-audit of the draft (DRAFT_EDU_GROWTH_ABOVE_REVENUE, DRAFT_COMPULSORY_GROWTH_ABOVE_REVENUE).
CREATE OR REPLACE TABLE fiscal_draft_by_region AS
SELECT region_code, year, min(region_name) AS region_name, sum(recurring_revenue) AS revenue,
       list(_row) AS fiscal_rows
FROM fiscal
WHERE basis = 'budget'
GROUP BY region_code, year;

-- "Growth higher than recurring revenue's" (教育法 第五十六条, 义务教育法 第四十二条), shared by
-- EDU_GROWTH_ABOVE_REVENUE and COMPULSORY_GROWTH_ABOVE_REVENUE: outcome and reason from the
-- exact amounts, comparing growth by cross-multiplication (cur x rev_prev against
-- prev x rev_cur), never by rounded rates; "高于" is strict, so equal growth fails. The
-- gap is what would have made the spending grow as fast as revenue: before x revenue
-- growth - actual increase (0 when it grew exactly as fast).
CREATE OR REPLACE MACRO growth_outcome(in_force, cur, prev, rev_cur, rev_prev) AS
    CASE
        WHEN NOT coalesce(in_force, false) THEN 'unevaluable'
        WHEN rev_cur IS NULL OR rev_prev IS NULL THEN 'unevaluable'
        WHEN prev IS NULL THEN 'unevaluable'
        WHEN prev = 0 OR rev_prev = 0 THEN 'unevaluable'
        WHEN cur * rev_prev <= prev * rev_cur THEN 'fail'
        ELSE 'pass'
    END;

CREATE OR REPLACE MACRO growth_reason(in_force, cur, prev, rev_cur, rev_prev) AS
    CASE
        WHEN NOT coalesce(in_force, false) THEN 'not_in_force'
        WHEN rev_cur IS NULL OR rev_prev IS NULL THEN 'no_revenue'
        WHEN prev IS NULL THEN 'no_prior_year'
        WHEN prev = 0 OR rev_prev = 0 THEN 'zero_base'
    END;

CREATE OR REPLACE MACRO growth_gap(cur, prev, rev_cur, rev_prev) AS
    CASE WHEN rev_prev > 0 AND prev > 0 AND cur * rev_prev <= prev * rev_cur
         THEN greatest(CAST(prev * rev_cur AS DOUBLE) / CAST(rev_prev AS DOUBLE) - CAST(cur AS DOUBLE), 0)
    END;

-- Growth in percent, for messages and charts (never for the verdict).
CREATE OR REPLACE MACRO growth_percent(cur, prev) AS
    CAST(cur AS DOUBLE) / CAST(nullif(prev, 0) AS DOUBLE) * 100 - 100;

-- The result columns every growth-against-revenue rule returns, as one struct a rule unnests:
-- outcome, reason, actual and required (the two growth rates), shortfall_yuan, and the two
-- amounts for the message.
CREATE OR REPLACE MACRO growth_against_revenue(in_force, cur, prev, rev_cur, rev_prev) AS {
    'outcome': growth_outcome(in_force, cur, prev, rev_cur, rev_prev),
    'reason': growth_reason(in_force, cur, prev, rev_cur, rev_prev),
    'actual': growth_percent(cur, prev),
    'required': growth_percent(rev_cur, rev_prev),
    'shortfall_yuan': growth_gap(cur, prev, rev_cur, rev_prev),
    'edu_before': CAST(prev AS DOUBLE),
    'edu_now': CAST(cur AS DOUBLE)
};

-- The per-student floor check, one query for every rule that holds a level's public funds
-- per student to a floor or benchmark: FLOOR_PRESCHOOL, FLOOR_SENIOR_GENERAL,
-- FLOOR_SECONDARY_VOCATIONAL (check `main`), FLOOR_COMPULSORY_BENCHMARK and DRAFT_FLOORS.
-- A table macro, not a table: it is bound where a rule calls it, with the rule's own
-- parameters, so DuckDB plans it as if the rule had written it out. Arguments (no name
-- may be a column of the source: a macro parameter hides the column, and `level = level`
-- would keep every level):
--   source  the measure: 'public_funds_per_student' (final accounts) or
--           'draft_public_funds_per_student' (draft budgets);
--   lvl     the level checked;
--   floors  the rule's bound parameter holding the floor of that level (see param());
--   regions, years  the rule's $regions and $years.
-- One row per school and per region x year of the level: `fail` below the floor, else `pass`;
-- `unevaluable` when no floor is in force (said once per region and year, not once per
-- school), when there are no students, or no public-funds row. Then `actual`, `required`,
-- `shortfall_yuan` (the money that lifts the subject to the floor) and every column of the
-- source (`students_from` of the draft measure, `per_student` and `floor` among them).
CREATE OR REPLACE MACRO per_student_floor(source, lvl, floors, regions, years) AS TABLE
SELECT
    CASE
        WHEN floor IS NULL THEN 'unevaluable'
        WHEN coalesce(students, 0) = 0 THEN 'unevaluable'
        WHEN amount IS NULL THEN 'unevaluable'
        WHEN per_student < floor THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE WHEN floor IS NULL THEN 'not_in_force' WHEN coalesce(students, 0) = 0 THEN 'no_students'
         WHEN amount IS NULL THEN 'no_public_funds' END AS reason,
    per_student AS actual, floor AS required,
    CASE WHEN per_student < floor THEN (floor - per_student) * students END AS shortfall_yuan,
    s.*
FROM (
    SELECT *, param(floors, region_code, year) AS floor
    FROM query_table(source)
    WHERE level = lvl AND list_contains(regions, region_code) AND list_contains(years, year)
) s
WHERE NOT (floor IS NULL AND school_id IS NOT NULL);
