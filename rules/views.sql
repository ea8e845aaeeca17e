-- Tables shared by several rules, computed once per check after the ledger is loaded
-- (a view would be recomputed by every rule that reads it). No parameters: each rule
-- filters by $regions and $years itself.

-- Public funds (公用经费) of public schools from the general public budget (final
-- accounts) per enrolled public student: one row per school that has school-level
-- budget rows, and one row per region x year x level (all public rows of the level,
-- school-level and region-level alike). `school_id` is NULL on the region rows.
CREATE OR REPLACE TEMP TABLE public_funds_per_student AS
WITH money AS (
    SELECT region_code, year, level, school_id,
           grouping(school_id) = 1 AS region_total,
           min(region_name) AS region_name, min(school_name) AS school_name,
           sum(amount) AS amount,
           list_sort(list(_row)) AS budget_rows
    FROM budget
    WHERE fund_source = 'general_budget' AND expense_class = 'public_funds'
      AND ownership = 'public' AND basis = 'final'
    GROUP BY GROUPING SETS ((region_code, year, level, school_id), (region_code, year, level))
),
heads AS (
    SELECT region_code, year, level, school_id,
           grouping(school_id) = 1 AS region_total,
           min(region_name) AS region_name, min(school_name) AS school_name,
           sum(students) AS students,
           list_sort(list(_row)) AS enrollment_rows
    FROM enrollment
    WHERE ownership = 'public'
    GROUP BY GROUPING SETS ((region_code, year, level, school_id), (region_code, year, level))
),
schools AS (
    SELECT m.region_code, m.region_name, m.year, m.level, m.school_id,
           coalesce(m.school_name, h.school_name) AS school_name,
           m.amount, h.students, m.budget_rows, coalesce(h.enrollment_rows, []) AS enrollment_rows
    FROM money m
    LEFT JOIN heads h ON NOT h.region_total AND h.region_code = m.region_code AND h.year = m.year
                     AND h.level = m.level AND h.school_id = m.school_id
    WHERE NOT m.region_total AND m.school_id IS NOT NULL
),
regions AS (
    SELECT coalesce(m.region_code, h.region_code) AS region_code,
           coalesce(m.region_name, h.region_name) AS region_name,
           coalesce(m.year, h.year) AS year,
           coalesce(m.level, h.level) AS level,
           CAST(NULL AS VARCHAR) AS school_id, CAST(NULL AS VARCHAR) AS school_name,
           m.amount, h.students,     -- NULL, not 0, when the ledger has no public-funds row
           coalesce(m.budget_rows, []) AS budget_rows, coalesce(h.enrollment_rows, []) AS enrollment_rows
    FROM (SELECT * FROM money WHERE region_total) m
    FULL JOIN (SELECT * FROM heads WHERE region_total) h
        ON h.region_code = m.region_code AND h.year = m.year AND h.level = m.level
)
SELECT *, amount / nullif(students, 0) AS per_student FROM schools
UNION ALL
SELECT *, amount / nullif(students, 0) AS per_student FROM regions;

-- Every region and year the ledger's budget or enrollment speaks of: the subjects a
-- rule on another sheet must still answer for (as not evaluable when that sheet is silent).
CREATE OR REPLACE TEMP TABLE audited_region_years AS
SELECT region_code, min(region_name) AS region_name, year
FROM (SELECT region_code, region_name, year FROM budget
      UNION ALL SELECT region_code, region_name, year FROM enrollment)
GROUP BY region_code, year;
