-- Compulsory schooling (public primary + junior) public funds per student against the
-- provincial average; a figure for the region itself wins over its province's.
WITH compulsory AS (
    SELECT region_code, min(region_name) AS region_name, year,
           sum(amount) AS amount, sum(students) AS students,
           flatten(list(budget_rows)) AS budget_rows,
           flatten(list(enrollment_rows)) AS enrollment_rows
    FROM public_funds_per_student
    WHERE school_id IS NULL AND level IN ('primary', 'junior')
      AND list_contains($regions, region_code) AND list_contains($years, year)
    GROUP BY region_code, year
),
reference_value AS (
    SELECT c.region_code, c.year,
           arg_min(r.value, CASE WHEN r.region_code = c.region_code THEN 0 ELSE 1 END) AS value,
           arg_min(r._row, CASE WHEN r.region_code = c.region_code THEN 0 ELSE 1 END) AS ref_row
    FROM compulsory c
    JOIN reference r ON r.year = c.year
        AND r.metric = 'provincial_avg_compulsory_public_funds_per_student'
        AND (r.region_code = c.region_code OR r.region_code = substr(c.region_code, 1, 2) || '0000')
    GROUP BY c.region_code, c.year
)
SELECT
    CASE
        WHEN NOT coalesce(param($compulsory_reach_provincial_average, c.region_code, c.year), false) THEN 'unevaluable'
        WHEN coalesce(c.students, 0) = 0 THEN 'unevaluable'
        WHEN c.amount IS NULL THEN 'unevaluable'
        WHEN r.value IS NULL THEN 'unevaluable'
        WHEN c.amount / c.students < r.value THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN NOT coalesce(param($compulsory_reach_provincial_average, c.region_code, c.year), false) THEN 'not_in_force'
        WHEN coalesce(c.students, 0) = 0 THEN 'no_students'
        WHEN c.amount IS NULL THEN 'no_public_funds'
        WHEN r.value IS NULL THEN 'no_reference'
    END AS reason,
    c.region_code, c.region_name, c.year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    c.amount / nullif(c.students, 0) AS actual, r.value AS required,
    CASE WHEN c.amount / nullif(c.students, 0) < r.value THEN (r.value - c.amount / c.students) * c.students END
        AS shortfall_yuan,
    c.students, c.amount,
    c.budget_rows, c.enrollment_rows,
    CASE WHEN r.ref_row IS NULL THEN [] ELSE [r.ref_row] END AS reference_rows
FROM compulsory c
LEFT JOIN reference_value r ON r.region_code = c.region_code AND r.year = c.year
