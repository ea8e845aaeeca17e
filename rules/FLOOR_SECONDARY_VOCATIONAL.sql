-- Public secondary vocational schools: public funds per student against the floor
-- (check `main`: per_student_floor in views.sql, shared by every floor rule) and, advisory,
-- against the region's public general high schools (check `not_below_general`, region
-- level only, where the profile asks for it). The second check compares two levels of the
-- ledger rather than a level with a parameter, so it is written out here.
WITH voc AS (
    SELECT *, coalesce(param($vocational_not_below_general, region_code, year), false) AS compare_general
    FROM public_funds_per_student
    WHERE level = 'secondary_vocational' AND school_id IS NULL
      AND list_contains($regions, region_code) AND list_contains($years, year)
),
general AS (
    SELECT region_code, year, per_student, budget_rows, enrollment_rows
    FROM public_funds_per_student
    WHERE level = 'senior_general' AND school_id IS NULL
)
SELECT
    'main' AS check_name, outcome, reason,
    region_code, region_name, year, level, school_id, school_name,
    actual, required, shortfall_yuan, students, amount, budget_rows, enrollment_rows
FROM per_student_floor('public_funds_per_student', 'secondary_vocational',
                       $floor_secondary_vocational_per_student, $regions, $years)
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
WHERE v.compare_general
