-- Public primary, junior and special-education schools: public funds per student
-- against the national benchmark (基准定额) in force for the level.
SELECT
    CASE
        WHEN benchmark IS NULL THEN 'unevaluable'
        WHEN coalesce(students, 0) = 0 THEN 'unevaluable'
        WHEN amount IS NULL THEN 'unevaluable'
        WHEN per_student < benchmark THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE WHEN benchmark IS NULL THEN 'not_in_force' WHEN coalesce(students, 0) = 0 THEN 'no_students'
         WHEN amount IS NULL THEN 'no_public_funds' END AS reason,
    region_code, region_name, year, level, school_id, school_name,
    per_student AS actual, benchmark AS required,
    CASE WHEN per_student < benchmark THEN (benchmark - per_student) * students END AS shortfall_yuan,
    students, amount, budget_rows, enrollment_rows
FROM (
    SELECT *,
           CASE level
               WHEN 'primary' THEN param($benchmark_primary_public_funds_per_student, region_code, year)
               WHEN 'junior' THEN param($benchmark_junior_public_funds_per_student, region_code, year)
               WHEN 'special' THEN param($benchmark_special_public_funds_per_student, region_code, year)
           END AS benchmark
    FROM public_funds_per_student
    WHERE level IN ('primary', 'junior', 'special')
      AND list_contains($regions, region_code) AND list_contains($years, year)
)
WHERE NOT (benchmark IS NULL AND school_id IS NOT NULL)
