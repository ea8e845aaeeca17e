-- 教育法 第五十五条第二款: education's share of total expenditure "应当随着国民经济的发展逐步
-- 提高". Per region and year: general-budget education spending (final accounts, the fund
-- sources its profile counts) over the fiscal sheet's 一般公共预算支出, against the previous
-- year's share. A fall is reported (a warning: 逐步提高 sets a direction, not a figure); an
-- unchanged share is not. Compared exactly by cross-multiplication. The gap is the money
-- that would have kept last year's share: this year's expenditure x last year's share -
-- this year's education spending.
WITH edu AS (
    SELECT region_code, year, region_name, amount, budget_rows
    FROM general_budget_by_level
    WHERE level IS NULL AND basis = 'final'
),
measured AS (
    SELECT e.region_code, e.region_name, e.year,
           e.amount AS edu_now, e0.amount AS edu_before, f.expenditure AS exp_now, f0.expenditure AS exp_before,
           param($education_share_rises, e.region_code, e.year) AS in_force,
           flatten([e.budget_rows, coalesce(e0.budget_rows, [])]) AS budget_rows,
           flatten([coalesce(f.fiscal_rows, []), coalesce(f0.fiscal_rows, [])]) AS fiscal_rows
    FROM edu e
    LEFT JOIN edu e0 ON e0.region_code = e.region_code AND e0.year = e.year - 1
    LEFT JOIN fiscal_by_region f ON f.region_code = e.region_code AND f.year = e.year
    LEFT JOIN fiscal_by_region f0 ON f0.region_code = e.region_code AND f0.year = e.year - 1
    WHERE list_contains($regions, e.region_code) AND list_contains($years, e.year)
      AND NOT EXISTS (SELECT 1 FROM draft_only_region_years d WHERE d.region_code = e.region_code AND d.year = e.year)
)
SELECT
    CASE
        WHEN NOT coalesce(in_force, false) THEN 'unevaluable'
        WHEN coalesce(exp_now, 0) = 0 OR coalesce(exp_before, 0) = 0 THEN 'unevaluable'
        WHEN edu_before IS NULL THEN 'unevaluable'
        WHEN edu_now * exp_before < edu_before * exp_now THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN NOT coalesce(in_force, false) THEN 'not_in_force'
        WHEN coalesce(exp_now, 0) = 0 OR coalesce(exp_before, 0) = 0 THEN 'no_expenditure'
        WHEN edu_before IS NULL THEN 'no_prior_year'
    END AS reason,
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    CAST(edu_now AS DOUBLE) / CAST(nullif(exp_now, 0) AS DOUBLE) * 100 AS actual,
    CAST(edu_before AS DOUBLE) / CAST(nullif(exp_before, 0) AS DOUBLE) * 100 AS required,
    CASE WHEN exp_before > 0 AND edu_now * exp_before < edu_before * exp_now
         THEN CAST(edu_before AS DOUBLE) * CAST(exp_now AS DOUBLE) / CAST(exp_before AS DOUBLE) - CAST(edu_now AS DOUBLE)
    END AS shortfall_yuan,
    year - 1 AS prev_year,
    CASE WHEN coalesce(exp_now, 0) = 0 THEN year ELSE year - 1 END AS missing_year,   -- of expenditure, for the note
    fiscal_rows, budget_rows   -- the expenditure cells first: the evidence shown is cut at 20 cells
FROM measured
