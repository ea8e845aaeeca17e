-- Compulsory schools' public funds per student against the national benchmark (基准定额) in
-- force for the level, each level with its own: public schools (check `main`), and private
-- schools (check `private`) where the ledger has private students or money, as 国发〔2015〕67号
-- funds "城乡义务教育学校（含民办学校）". The check is per_student_floor in views.sql, shared by
-- every floor rule; a private level without its own public-funds row is said apart.
WITH public_schools AS (
    SELECT * FROM per_student_floor('public_funds_per_student', 'primary',
                                    $benchmark_primary_public_funds_per_student, $regions, $years)
    UNION ALL
    SELECT * FROM per_student_floor('public_funds_per_student', 'junior',
                                    $benchmark_junior_public_funds_per_student, $regions, $years)
    UNION ALL
    SELECT * FROM per_student_floor('public_funds_per_student', 'special',
                                    $benchmark_special_public_funds_per_student, $regions, $years)
),
private_schools AS (
    SELECT * FROM per_student_floor('private_funds_per_student', 'primary',
                                    $benchmark_primary_public_funds_per_student, $regions, $years)
    UNION ALL
    SELECT * FROM per_student_floor('private_funds_per_student', 'junior',
                                    $benchmark_junior_public_funds_per_student, $regions, $years)
    UNION ALL
    SELECT * FROM per_student_floor('private_funds_per_student', 'special',
                                    $benchmark_special_public_funds_per_student, $regions, $years)
)
SELECT 'main' AS check_name, * FROM public_schools
UNION ALL
SELECT 'private' AS check_name,
       -- every column of per_student_floor by name, in its order: `* REPLACE` is DuckDB's
       -- alone, and sqlglot writes no EXCLUDE for Postgres
       outcome,
       CASE WHEN reason = 'no_public_funds' THEN 'private_no_public_funds'
            WHEN reason = 'no_students' THEN 'private_no_students' ELSE reason END AS reason,
       actual, required, shortfall_yuan, region_code, region_name, year, level, school_id, school_name,
       amount, students, budget_rows, enrollment_rows, per_student, floor
FROM private_schools
