-- Public kindergartens: general-budget public funds per child against the floor.
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
    region_code, region_name, year, level, school_id, school_name,
    per_student AS actual, floor AS required,
    CASE WHEN per_student < floor THEN (floor - per_student) * students END AS shortfall_yuan,
    students, amount, budget_rows, enrollment_rows
FROM (
    SELECT *, param($floor_preschool_public_funds_per_student, region_code, year) AS floor
    FROM public_funds_per_student
    WHERE level = 'preschool' AND list_contains($regions, region_code) AND list_contains($years, year)
)
-- A floor not in force is said once per region and year, not once per school.
WHERE NOT (floor IS NULL AND school_id IS NOT NULL)
