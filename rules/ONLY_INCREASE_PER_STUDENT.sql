-- General-budget education spending per enrolled student, year vs previous year, for
-- the region overall (level NULL) and for each level that has students. Spending of the
-- level `other` (administration) counts in the overall figure only.
WITH money AS (      -- rules/views.sql
    SELECT region_code, year, level, region_name, amount, n_rows, n_restated, restated_prior
    FROM general_budget_by_level
    WHERE basis = 'final' AND list_contains($regions, region_code)
),
heads AS (           -- rules/views.sql
    SELECT region_code, year, level, students, n_rows, n_restated, restated_prior
    FROM enrollment_by_level
    WHERE list_contains($regions, region_code)
),
per_year AS (
    SELECT m.region_code, m.year, m.level, m.region_name, m.amount, h.students,
           m.n_rows AS m_rows, m.n_restated AS m_restated, m.restated_prior AS m_restated_prior,
           h.n_rows AS h_rows, h.n_restated AS h_restated, h.restated_prior AS h_restated_prior,
           h.region_code IS NOT NULL AS has_heads
    FROM money m
    LEFT JOIN heads h ON h.region_code = m.region_code AND h.year = m.year
                     AND h.level IS NOT DISTINCT FROM m.level
    WHERE m.level IS DISTINCT FROM 'other'
),
paired AS (
    SELECT cur.*,
           CASE WHEN cur.m_restated = cur.m_rows THEN cur.m_restated_prior ELSE prev.amount END AS base_amount,
           CASE WHEN cur.h_restated = cur.h_rows THEN cur.h_restated_prior ELSE prev.students END AS base_students,
           CASE WHEN cur.m_restated = cur.m_rows OR cur.h_restated = cur.h_rows THEN 'comparable' ELSE 'raw' END
               AS comparison,
           (cur.m_restated > 0 AND cur.m_restated < cur.m_rows)
               OR (cur.h_restated > 0 AND cur.h_restated < cur.h_rows) AS partial,
           prev.region_code IS NOT NULL AS has_prev, coalesce(prev.has_heads, false) AS prev_has_heads
    FROM per_year cur
    LEFT JOIN per_year prev ON prev.region_code = cur.region_code AND prev.year = cur.year - 1
                           AND prev.level IS NOT DISTINCT FROM cur.level
    WHERE list_contains($years, cur.year)
),
measured AS (
    SELECT *,
           amount / nullif(students, 0) AS per_student,
           base_amount / nullif(base_students, 0) AS base_per_student
    FROM paired
),
results AS (
    SELECT
        CASE
            WHEN NOT coalesce(param($only_increase_required, region_code, year), false) THEN 'unevaluable'
            WHEN coalesce(students, 0) = 0 THEN 'unevaluable'
            WHEN partial THEN 'unevaluable'
            WHEN base_per_student IS NULL THEN 'unevaluable'
            WHEN per_student < base_per_student THEN 'fail'
            ELSE 'pass'
        END AS outcome,
        CASE
            WHEN NOT coalesce(param($only_increase_required, region_code, year), false) THEN 'not_in_force'
            WHEN coalesce(students, 0) = 0 THEN 'no_students'
            WHEN partial THEN 'partial_restatement'
            WHEN base_per_student IS NULL THEN 'no_prior_year'
            ELSE comparison
        END AS reason,
        region_code, region_name, year, year - 1 AS prev_year, level, CAST(NULL AS VARCHAR) AS school_id,
        per_student AS actual,
        base_per_student AS required,
        CASE WHEN per_student < base_per_student THEN (base_per_student - per_student) * students END AS shortfall_yuan,
        students, amount, base_amount, base_students, comparison, has_heads, has_prev, prev_has_heads
    FROM measured
),
-- The rows of a reported result, from the shared tables' lists: its level's (every level's
-- for the overall figure) in the year, and in the previous year when compared with them
-- (not with restated figures). A pass lists none, and its lists are not even copied: at
-- national scale they are most of the memory a rule needs.
reported AS (
    SELECT * FROM results WHERE outcome <> 'pass'
)
-- The columns of `results` but the three join flags, named one by one: `* EXCLUDE (...)`
-- has no PostgreSQL form (sqlglot 30.31 refuses it; tests/test_portable_sql.py).
SELECT r.outcome, r.reason, r.region_code, r.region_name, r.year, r.prev_year, r.level, r.school_id,
       r.actual, r.required, r.shortfall_yuan, r.students, r.amount, r.base_amount, r.base_students, r.comparison,
       CASE WHEN r.comparison = 'raw' THEN list_concat(m.budget_rows, coalesce(pm.budget_rows, []))
            ELSE m.budget_rows END AS budget_rows,
       CASE WHEN r.comparison = 'raw' THEN list_concat(coalesce(h.enrollment_rows, []), coalesce(ph.enrollment_rows, []))
            ELSE coalesce(h.enrollment_rows, []) END AS enrollment_rows
FROM reported r
JOIN general_budget_by_level m ON m.basis = 'final' AND m.region_code = r.region_code AND m.year = r.year
                              AND m.level IS NOT DISTINCT FROM r.level
LEFT JOIN general_budget_by_level pm ON r.has_prev AND pm.basis = 'final' AND pm.region_code = r.region_code
                                    AND pm.year = r.prev_year AND pm.level IS NOT DISTINCT FROM r.level
LEFT JOIN enrollment_by_level h ON r.has_heads AND h.region_code = r.region_code AND h.year = r.year
                               AND h.level IS NOT DISTINCT FROM r.level
LEFT JOIN enrollment_by_level ph ON r.prev_has_heads AND ph.region_code = r.region_code AND ph.year = r.prev_year
                                AND ph.level IS NOT DISTINCT FROM r.level
UNION ALL
SELECT outcome, reason, region_code, region_name, year, prev_year, level, school_id,
       actual, required, shortfall_yuan, students, amount, base_amount, base_students, comparison,
       CAST(NULL AS BIGINT[]) AS budget_rows, CAST(NULL AS BIGINT[]) AS enrollment_rows
FROM results
WHERE outcome = 'pass'
