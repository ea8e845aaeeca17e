-- Average pay of compulsory-school teachers against local civil servants', per region and year.
WITH groups AS (
    SELECT region_code, min(region_name) AS region_name, year,
           sum(total_pay) FILTER (WHERE pay_group = 'compulsory_teacher') AS teacher_pay,
           sum(headcount) FILTER (WHERE pay_group = 'compulsory_teacher') AS teachers,
           sum(total_pay) FILTER (WHERE pay_group = 'civil_servant') AS civil_pay,
           sum(headcount) FILTER (WHERE pay_group = 'civil_servant') AS civil_servants,
           list({'sheet': 'salaries', 'row': _row, 'col': 'total_pay'} ORDER BY _row) AS evidence
    FROM salaries
    WHERE list_contains($regions, region_code) AND list_contains($years, year)
    GROUP BY region_code, year
),
measured AS (
    SELECT *, teacher_pay / nullif(teachers, 0) AS teacher_avg,
           civil_pay / nullif(civil_servants, 0) * map_extract_value($teacher_pay_parity_min_ratio, year) AS required_avg,
           map_extract_value($teacher_pay_parity_min_ratio, year) AS min_ratio
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
    teachers, civil_servants, teacher_pay, civil_pay, evidence
FROM measured
