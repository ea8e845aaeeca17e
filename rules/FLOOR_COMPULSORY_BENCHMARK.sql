-- Public primary, junior and special-education schools: public funds per student
-- against the national benchmark (基准定额) in force for the level, each level with its own.
-- The check is per_student_floor in views.sql, shared by every floor rule.
SELECT * FROM per_student_floor('public_funds_per_student', 'primary',
                                $benchmark_primary_public_funds_per_student, $regions, $years)
UNION ALL
SELECT * FROM per_student_floor('public_funds_per_student', 'junior',
                                $benchmark_junior_public_funds_per_student, $regions, $years)
UNION ALL
SELECT * FROM per_student_floor('public_funds_per_student', 'special',
                                $benchmark_special_public_funds_per_student, $regions, $years)
