-- 教育法 第五十六条第二款 and, for compulsory education, 义务教育法 第四十二条第三款: "保证……学生
-- 人均公用经费逐步增长". Per region, level and year: public funds per public student (general
-- budget, final accounts: the measure of the floor rules) against the previous year's. A fall
-- fails; an unchanged amount passes (see rules/README.md). Compared exactly by cross-
-- multiplication (amount x students_before against amount_before x students), never by
-- rounded per-student figures. The gap: the fall x this year's students.
WITH regions AS (
    SELECT * FROM public_funds_per_student WHERE school_id IS NULL
),
measured AS (
    SELECT p.region_code, p.region_name, p.year, p.level,
           p.amount, p.students, p0.amount AS amount_before, p0.students AS students_before,
           param($public_funds_per_student_grow, p.region_code, p.year) AS in_force,
           list_contains(coalesce(param($compulsory_education_levels, p.region_code, p.year), []), p.level) AS compulsory,
           flatten([p.budget_rows, coalesce(p0.budget_rows, [])]) AS budget_rows,
           flatten([p.enrollment_rows, coalesce(p0.enrollment_rows, [])]) AS enrollment_rows
    FROM regions p
    LEFT JOIN regions p0 ON p0.region_code = p.region_code AND p0.level = p.level AND p0.year = p.year - 1
    WHERE list_contains($regions, p.region_code) AND list_contains($years, p.year)
)
SELECT
    CASE WHEN compulsory THEN 'compulsory' ELSE 'main' END AS check_name,
    CASE
        WHEN NOT coalesce(in_force, false) THEN 'unevaluable'
        WHEN amount IS NULL OR coalesce(students, 0) = 0 THEN 'unevaluable'
        WHEN amount_before IS NULL OR coalesce(students_before, 0) = 0 THEN 'unevaluable'
        WHEN amount * students_before < amount_before * students THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN NOT coalesce(in_force, false) THEN 'not_in_force'
        WHEN amount IS NULL OR coalesce(students, 0) = 0 THEN 'no_measure'
        WHEN amount_before IS NULL OR coalesce(students_before, 0) = 0 THEN 'no_prior_year'
    END AS reason,
    region_code, region_name, year, level, CAST(NULL AS VARCHAR) AS school_id,
    CAST(amount AS DOUBLE) / nullif(students, 0) AS actual,
    CAST(amount_before AS DOUBLE) / nullif(students_before, 0) AS required,
    CASE WHEN amount * students_before < amount_before * students
         THEN CAST(amount_before AS DOUBLE) * students / students_before - CAST(amount AS DOUBLE)
    END AS shortfall_yuan,
    students, year - 1 AS prev_year,
    budget_rows, enrollment_rows
FROM measured
-- A level the region has neither this year nor last (no money, no students) is no subject.
WHERE NOT (amount IS NULL AND amount_before IS NULL)
