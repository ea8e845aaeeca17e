-- Public secondary vocational schools: public funds per student against the floor
-- (check `main`) and, advisory, against the region's public general high schools
-- (check `not_below_general`, region level only).
WITH voc AS (
    SELECT *, param($floor_secondary_vocational_per_student, region_code, year) AS floor,
           coalesce(param($vocational_not_below_general, region_code, year), false) AS compare_general
    FROM public_funds_per_student
    WHERE level = 'secondary_vocational' AND list_contains($regions, region_code) AND list_contains($years, year)
),
general AS (
    SELECT region_code, year, per_student, budget_rows, enrollment_rows
    FROM public_funds_per_student
    WHERE level = 'senior_general' AND school_id IS NULL
)
SELECT
    'main' AS check_name,
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
FROM voc
WHERE NOT (floor IS NULL AND school_id IS NOT NULL)
UNION ALL
SELECT
    'not_below_general' AS check_name,
    CASE
        WHEN coalesce(v.students, 0) = 0 THEN 'unevaluable'
        WHEN v.amount IS NULL THEN 'unevaluable'
        WHEN g.per_student IS NULL THEN 'unevaluable'
        WHEN v.per_student < g.per_student THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE WHEN coalesce(v.students, 0) = 0 THEN 'no_students' WHEN v.amount IS NULL THEN 'no_public_funds'
         WHEN g.per_student IS NULL THEN 'no_general' END AS reason,
    v.region_code, v.region_name, v.year, v.level, v.school_id, v.school_name,
    v.per_student AS actual, g.per_student AS required,
    CASE WHEN v.per_student < g.per_student THEN (g.per_student - v.per_student) * v.students END AS shortfall_yuan,
    v.students, v.amount,
    list_concat(v.budget_rows, coalesce(g.budget_rows, [])) AS budget_rows,
    list_concat(v.enrollment_rows, coalesce(g.enrollment_rows, [])) AS enrollment_rows
FROM voc v
LEFT JOIN general g ON g.region_code = v.region_code AND g.year = v.year
WHERE v.compare_general AND v.school_id IS NULL
