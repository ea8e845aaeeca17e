-- Draft budgets (口径 = 预算): public funds per public student of each level with a floor
-- or benchmark, per school and per region, against the value in force in the draft's year.
-- Students: the draft year's enrollment when given, else the previous year's (see views.sql).
-- The check is per_student_floor in views.sql, shared by every floor rule, on the draft
-- measure; one branch per level, named by the check its message comes from.
SELECT *, year - 1 AS prev_year,
       CASE students_from WHEN 'planned' THEN '草案年度在校生' ELSE '上年在校生' END AS students_from_zh,
       CASE students_from WHEN 'planned' THEN 'planned' ELSE 'previous-year' END AS students_from_en
FROM (
    SELECT 'preschool' AS check_name, * FROM per_student_floor('draft_public_funds_per_student', 'preschool',
        $floor_preschool_public_funds_per_student, $regions, $years)
    UNION ALL
    SELECT 'senior_general', * FROM per_student_floor('draft_public_funds_per_student', 'senior_general',
        $floor_senior_general_public_funds_per_student, $regions, $years)
    UNION ALL
    SELECT 'secondary_vocational', * FROM per_student_floor('draft_public_funds_per_student', 'secondary_vocational',
        $floor_secondary_vocational_per_student, $regions, $years)
    UNION ALL
    SELECT 'compulsory_benchmark', * FROM per_student_floor('draft_public_funds_per_student', 'primary',
        $benchmark_primary_public_funds_per_student, $regions, $years)
    UNION ALL
    SELECT 'compulsory_benchmark', * FROM per_student_floor('draft_public_funds_per_student', 'junior',
        $benchmark_junior_public_funds_per_student, $regions, $years)
    UNION ALL
    SELECT 'compulsory_benchmark', * FROM per_student_floor('draft_public_funds_per_student', 'special',
        $benchmark_special_public_funds_per_student, $regions, $years)
)
