-- Draft budgets (口径 = 预算): public funds per public student of each level with a floor
-- or benchmark, per school and per region, against the value in force in the draft's year.
-- Students: the draft year's enrollment when given, else the previous year's (see views.sql).
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
    check_name, region_code, region_name, year, year - 1 AS prev_year, level, school_id, school_name,
    per_student AS actual, floor AS required,
    CASE WHEN per_student < floor THEN (floor - per_student) * students END AS shortfall_yuan,
    CASE students_from WHEN 'planned' THEN '草案年度在校生' ELSE '上年在校生' END AS students_from_zh,
    CASE students_from WHEN 'planned' THEN 'planned' ELSE 'previous-year' END AS students_from_en,
    students, students_from, amount, budget_rows, enrollment_rows
FROM (
    SELECT *,
           CASE WHEN level IN ('primary', 'junior', 'special') THEN 'compulsory_benchmark' ELSE level END
               AS check_name,
           CASE level
               WHEN 'preschool' THEN param($floor_preschool_public_funds_per_student, region_code, year)
               WHEN 'senior_general' THEN param($floor_senior_general_public_funds_per_student, region_code, year)
               WHEN 'secondary_vocational' THEN param($floor_secondary_vocational_per_student, region_code, year)
               WHEN 'primary' THEN param($benchmark_primary_public_funds_per_student, region_code, year)
               WHEN 'junior' THEN param($benchmark_junior_public_funds_per_student, region_code, year)
               WHEN 'special' THEN param($benchmark_special_public_funds_per_student, region_code, year)
           END AS floor
    FROM draft_public_funds_per_student
    WHERE level IN ('preschool', 'senior_general', 'secondary_vocational', 'primary', 'junior', 'special')
      AND list_contains($regions, region_code) AND list_contains($years, year)
)
-- A floor not in force is said once per region, year and level, not once per school.
WHERE NOT (floor IS NULL AND school_id IS NOT NULL)
