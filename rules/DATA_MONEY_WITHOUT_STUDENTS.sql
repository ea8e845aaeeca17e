-- General-budget money for a level (other than `other`, which has no students of its
-- own) in a region and year with no enrolled students of that level.
WITH money AS (      -- rules/views.sql: the rows with a level are the per-level sums
    SELECT region_code, region_name, year, level, amount, budget_rows
    FROM general_budget_by_level
    WHERE basis = 'final' AND level IS NOT NULL AND level <> 'other'
      AND list_contains($regions, region_code) AND list_contains($years, year)
),
heads AS (          -- rules/views.sql
    SELECT region_code, year, level, students FROM enrollment_by_level WHERE level IS NOT NULL
)
SELECT CASE WHEN coalesce(h.students, 0) = 0 AND m.amount > 0 THEN 'fail' ELSE 'pass' END AS outcome,
       m.region_code, m.region_name, m.year, m.level, CAST(NULL AS VARCHAR) AS school_id,
       m.amount AS actual, CAST(NULL AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS shortfall_yuan,
       m.budget_rows
FROM money m
LEFT JOIN heads h ON h.region_code = m.region_code AND h.year = m.year AND h.level = m.level
