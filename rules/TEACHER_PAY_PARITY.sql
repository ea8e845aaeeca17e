-- Average pay of compulsory-school teachers against local civil servants', per region and year.
-- A region and year with budget rows but no salary rows is reported as not evaluable.
WITH subjects AS (
    SELECT region_code, year FROM salaries
    UNION SELECT region_code, year FROM audited_region_years
),
groups AS (
    SELECT j.region_code, coalesce(min(s.region_name), min(a.region_name)) AS region_name, j.year,
           sum(total_pay) FILTER (WHERE pay_group = 'compulsory_teacher') AS teacher_pay,
           sum(headcount) FILTER (WHERE pay_group = 'compulsory_teacher') AS teachers,
           sum(total_pay) FILTER (WHERE pay_group = 'civil_servant') AS civil_pay,
           sum(headcount) FILTER (WHERE pay_group = 'civil_servant') AS civil_servants,
           list(s._row) FILTER (WHERE s._row IS NOT NULL) AS salaries_rows
    FROM subjects j
    LEFT JOIN salaries s ON s.region_code = j.region_code AND s.year = j.year
    LEFT JOIN audited_region_years a ON a.region_code = j.region_code AND a.year = j.year
    WHERE list_contains($regions, j.region_code) AND list_contains($years, j.year)
    GROUP BY j.region_code, j.year
),
measured AS (
    SELECT *, teacher_pay / nullif(teachers, 0) AS teacher_avg,
           civil_pay / nullif(civil_servants, 0) * param($teacher_pay_parity_min_ratio, region_code, year) AS required_avg,
           param($teacher_pay_parity_min_ratio, region_code, year) AS min_ratio
    FROM groups
)
SELECT
    CASE
        WHEN min_ratio IS NULL THEN 'unevaluable'
        WHEN teacher_avg IS NULL THEN 'unevaluable'
        WHEN required_avg IS NULL THEN 'unevaluable'
        WHEN teacher_avg < required_avg THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN min_ratio IS NULL THEN 'not_in_force'
        WHEN teacher_avg IS NULL THEN 'no_teachers'
        WHEN required_avg IS NULL THEN 'no_civil_servants'
    END AS reason,
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    teacher_avg AS actual, required_avg AS required,
    CASE WHEN teacher_avg < required_avg THEN (required_avg - teacher_avg) * teachers END AS shortfall_yuan,
    teachers, civil_servants, teacher_pay, civil_pay, coalesce(salaries_rows, []) AS salaries_rows
FROM measured
