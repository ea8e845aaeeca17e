-- Public secondary vocational schools: public funds per student against the floor
-- (check `main`: per_student_floor in views.sql, shared by every floor rule) and, as an info
-- observation where the profile asks for it, per-student appropriation against the region's
-- general high schools (check `not_below_general`).
-- The comparison is an observation, not a duty: 定发字〔2021〕40号（二十四）says vocational
-- per-student appropriation "可适当高于普通高中" (may be somewhat higher), a permission. It is
-- measured as the clause measures it, per-student appropriation (生均财政拨款): general-budget
-- education spending (final accounts, every expense class) per student of each level.
WITH per_level AS (
    SELECT b.region_code, b.region_name, b.year, b.level, b.amount, e.students,
           b.amount / nullif(e.students, 0) AS per_student, b.budget_rows, e.enrollment_rows
    FROM general_budget_by_level b
    JOIN enrollment_by_level e ON e.region_code = b.region_code AND e.year = b.year AND e.level = b.level
    WHERE b.basis = 'final' AND b.level IN ('secondary_vocational', 'senior_general')
),
voc AS (
    SELECT *, coalesce(param($vocational_not_below_general, region_code, year), false) AS compare_general
    FROM per_level
    WHERE level = 'secondary_vocational' AND list_contains($regions, region_code) AND list_contains($years, year)
),
general AS (
    SELECT region_code, year, per_student, budget_rows, enrollment_rows FROM per_level WHERE level = 'senior_general'
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
        WHEN g.per_student IS NULL THEN 'unevaluable'
        WHEN v.per_student <= g.per_student THEN 'fail'     -- not above: an info observation (own severity)
        ELSE 'pass'
    END AS outcome,
    CASE WHEN coalesce(v.students, 0) = 0 THEN 'no_students' WHEN g.per_student IS NULL THEN 'no_general' END
        AS reason,
    v.region_code, v.region_name, v.year, v.level, CAST(NULL AS VARCHAR) AS school_id,
    CAST(NULL AS VARCHAR) AS school_name,
    v.per_student AS actual, g.per_student AS required,
    CAST(NULL AS DOUBLE) AS shortfall_yuan,        -- a permission owes no money
    v.students, v.amount,
    list_concat(v.budget_rows, coalesce(g.budget_rows, [])) AS budget_rows,
    list_concat(v.enrollment_rows, coalesce(g.enrollment_rows, [])) AS enrollment_rows
FROM voc v
LEFT JOIN general g ON g.region_code = v.region_code AND g.year = v.year
WHERE v.compare_general
