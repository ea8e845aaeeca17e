-- Figures no real ledger has: outside the profile's plausibility bounds a per-student amount
-- or an average pay is a unit slip (万元 figures under a 元 header give 0.07 yuan of public
-- funds per pupil), and every verdict resting on it is wrong. Per region x year (and level),
-- the region-level measures the guarantees use: public funds per student, general-budget
-- spending per student, average pay per pay group.
WITH public_funds AS (
    SELECT 'public_funds_per_student' AS check_name, region_code, region_name, year, level,
           per_student AS actual, budget_rows, enrollment_rows, CAST([] AS BIGINT[]) AS salaries_rows,
           param($plausible_public_funds_per_student, region_code, year) AS bounds
    FROM public_funds_per_student
    WHERE school_id IS NULL AND per_student IS NOT NULL AND students > 0
      AND list_contains($regions, region_code) AND list_contains($years, year)
),
spending AS (
    SELECT 'spending_per_student' AS check_name, g.region_code, g.region_name, g.year, CAST(NULL AS VARCHAR) AS level,
           g.amount / e.students AS actual, g.budget_rows, e.enrollment_rows, CAST([] AS BIGINT[]) AS salaries_rows,
           param($plausible_spending_per_student, g.region_code, g.year) AS bounds
    FROM general_budget_by_level g
    JOIN enrollment_by_level e ON e.region_code = g.region_code AND e.year = g.year AND e.level IS NULL
    WHERE g.level IS NULL AND g.basis = 'final' AND e.students > 0
      AND list_contains($regions, g.region_code) AND list_contains($years, g.year)
),
pay AS (
    SELECT 'average_pay' AS check_name, region_code, min(region_name) AS region_name, year,
           CAST(NULL AS VARCHAR) AS level,
           sum(total_pay) / sum(headcount) AS actual, CAST([] AS BIGINT[]) AS budget_rows,
           CAST([] AS BIGINT[]) AS enrollment_rows, list(_row) AS salaries_rows,
           param($plausible_average_pay, region_code, year) AS bounds, pay_group
    FROM salaries
    WHERE list_contains($regions, region_code) AND list_contains($years, year)
    GROUP BY region_code, year, pay_group
    HAVING sum(headcount) > 0
),
measured AS (
    SELECT *, CAST(NULL AS VARCHAR) AS pay_group FROM public_funds
    UNION ALL SELECT *, CAST(NULL AS VARCHAR) FROM spending
    UNION ALL SELECT * FROM pay
)
SELECT
    CASE WHEN bounds IS NULL THEN 'pass'
         WHEN actual < bounds[1] OR actual > bounds[2] THEN 'fail' ELSE 'pass' END AS outcome,
    check_name, region_code, region_name, year, level, CAST(NULL AS VARCHAR) AS school_id,
    actual, CASE WHEN actual < bounds[1] THEN bounds[1] WHEN actual > bounds[2] THEN bounds[2] END AS required,
    CAST(NULL AS DOUBLE) AS shortfall_yuan, CASE WHEN pay_group IS NOT NULL THEN [pay_group] END AS pay_group,
    CASE WHEN actual < bounds[1] THEN '偏小，多半是金额以万元填写而表头或单位写作“元”（乘以10000后为'
                                      || printf('%,.2f', actual * 1e4) || '元）'
         ELSE '偏大，多半是金额以元填写而表头或单位写作“万元”，或人数、学生数以万计' END AS slip_zh,
    CASE WHEN actual < bounds[1] THEN 'too small: most likely amounts in 万元 read as yuan (times 10,000 it is '
                                      || printf('%,.2f', actual * 1e4) || ' yuan)'
         ELSE 'too large: most likely amounts in yuan read as 万元, or heads counted in ten-thousands' END AS slip_en,
    budget_rows, enrollment_rows, salaries_rows
FROM measured
