-- Draft budgets (口径 = 预算) against 义务教育法 第四十二条第三款: the compulsory-education
-- appropriations a draft plans for a year (the levels its profile counts as compulsory, summed),
-- against the previous year's final accounts of the same levels, must grow faster than the
-- recurring revenue the budget plans on (the fiscal sheet's 预算 row of that year) grows on the
-- previous year's final revenue. COMPULSORY_GROWTH_ABOVE_REVENUE's sums, DRAFT_EDU_GROWTH's
-- comparison; the verdict and the gap are views.sql's growth macros.
WITH drafts AS (
    SELECT region_code, year, min(region_name) AS region_name, sum(amount) AS amount,
           flatten(list(budget_rows)) AS budget_rows
    FROM general_budget_by_level
    WHERE level IS NOT NULL AND basis = 'budget'
      AND list_contains(coalesce(param($compulsory_education_levels, region_code, year), []), level)
    GROUP BY region_code, year
),
finals AS (   -- last year's final accounts, of the levels counted in the draft's year
    SELECT region_code, year, sum(amount) AS amount, flatten(list(budget_rows)) AS budget_rows
    FROM general_budget_by_level
    WHERE level IS NOT NULL AND basis = 'final'
      AND list_contains(coalesce(param($compulsory_education_levels, region_code, year + 1), []), level)
    GROUP BY region_code, year
),
measured AS (
    SELECT d.region_code, d.region_name, d.year,
           d.amount AS edu_now, f.amount AS edu_before, r.revenue AS rev_now, r0.revenue AS rev_before,
           param($compulsory_growth_above_revenue, d.region_code, d.year) AS in_force,
           param($compulsory_education_levels, d.region_code, d.year) AS levels,
           flatten([coalesce(r.fiscal_rows, []), coalesce(r0.fiscal_rows, [])]) AS fiscal_rows,
           flatten([d.budget_rows, coalesce(f.budget_rows, [])]) AS budget_rows
    FROM drafts d
    LEFT JOIN finals f ON f.region_code = d.region_code AND f.year = d.year - 1
    LEFT JOIN fiscal_draft_by_region r ON r.region_code = d.region_code AND r.year = d.year
    LEFT JOIN fiscal_by_region r0 ON r0.region_code = d.region_code AND r0.year = d.year - 1
    WHERE list_contains($regions, d.region_code) AND list_contains($years, d.year)
)
SELECT
    unnest(growth_against_revenue(in_force, edu_now, edu_before, rev_now, rev_before)),   -- views.sql
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    year - 1 AS prev_year,
    CASE WHEN rev_now IS NULL THEN year ELSE year - 1 END AS missing_year,
    CASE WHEN rev_now IS NULL THEN '预算' ELSE '决算' END AS missing_basis_zh,
    CASE WHEN rev_now IS NULL THEN 'budgeted' ELSE 'final' END AS missing_basis_en,
    levels,
    fiscal_rows, budget_rows   -- the revenue cells first: the evidence shown is cut at 20 cells
FROM measured
