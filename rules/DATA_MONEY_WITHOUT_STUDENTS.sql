-- General-budget money for a level (other than `other`, which has no students of its
-- own) in a region and year with no enrolled students of that level.
WITH money AS (
    SELECT region_code, min(region_name) AS region_name, year, level, sum(amount) AS amount,
           list_sort(list(_row)) AS budget_rows
    FROM budget
    WHERE fund_source = 'general_budget' AND basis = 'final' AND level <> 'other'
      AND list_contains($regions, region_code) AND list_contains($years, year)
    GROUP BY region_code, year, level
),
heads AS (
    SELECT region_code, year, level, sum(students) AS students
    FROM enrollment
    GROUP BY region_code, year, level
)
SELECT CASE WHEN coalesce(h.students, 0) = 0 AND m.amount > 0 THEN 'fail' ELSE 'pass' END AS outcome,
       m.region_code, m.region_name, m.year, m.level, CAST(NULL AS VARCHAR) AS school_id,
       m.amount AS actual, CAST(NULL AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS shortfall_yuan,
       m.budget_rows
FROM money m
LEFT JOIN heads h ON h.region_code = m.region_code AND h.year = m.year AND h.level = m.level
