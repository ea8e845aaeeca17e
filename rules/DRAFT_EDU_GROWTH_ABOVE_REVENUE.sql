-- Draft budgets (口径 = 预算) against 教育法 第五十六条: the education spending a draft plans for
-- a year, against the previous year's final accounts, must grow faster than the recurring
-- revenue the budget plans on (the fiscal sheet's 预算 row of that year) grows on the previous
-- year's final revenue. The verdict and the gap are views.sql's growth macros: what the draft
-- lacks to grow as fast as revenue (and it must grow faster).
WITH drafts AS (
    SELECT region_code, year, region_name, amount, budget_rows
    FROM general_budget_by_level
    WHERE basis = 'budget' AND level IS NULL
),
finals AS (
    SELECT region_code, year, amount, budget_rows
    FROM general_budget_by_level
    WHERE basis = 'final' AND level IS NULL
),
measured AS (
    SELECT d.region_code, d.region_name, d.year,
           d.amount AS edu_now, f.amount AS edu_before, r.revenue AS rev_now, r0.revenue AS rev_before,
           param($education_growth_above_revenue, d.region_code, d.year) AS in_force,
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
    fiscal_rows, budget_rows   -- the revenue cells first: the evidence shown is cut at 20 cells
FROM measured
