-- 教育法 第五十六条: education appropriations grow faster than recurring fiscal revenue. Per
-- region and year: growth of general-budget education spending (final accounts, the fund
-- sources its profile counts) against growth of 财政经常性收入 from the fiscal sheet. "高于"
-- is strict: equal growth is not higher. The verdict and the gap are views.sql's growth
-- macros, shared with COMPULSORY_GROWTH_ABOVE_REVENUE.
WITH edu AS (
    SELECT region_code, year, region_name, amount, budget_rows
    FROM general_budget_by_level
    WHERE level IS NULL AND basis = 'final'
),
measured AS (
    SELECT e.region_code, e.region_name, e.year,
           e.amount AS edu_now, e0.amount AS edu_before, r.revenue AS rev_now, r0.revenue AS rev_before,
           param($education_growth_above_revenue, e.region_code, e.year) AS in_force,
           flatten([e.budget_rows, coalesce(e0.budget_rows, [])]) AS budget_rows,
           flatten([coalesce(r.fiscal_rows, []), coalesce(r0.fiscal_rows, [])]) AS fiscal_rows
    FROM edu e
    LEFT JOIN edu e0 ON e0.region_code = e.region_code AND e0.year = e.year - 1
    LEFT JOIN fiscal_by_region r ON r.region_code = e.region_code AND r.year = e.year
    LEFT JOIN fiscal_by_region r0 ON r0.region_code = e.region_code AND r0.year = e.year - 1
    WHERE list_contains($regions, e.region_code) AND list_contains($years, e.year)
      AND NOT EXISTS (SELECT 1 FROM draft_only_region_years d WHERE d.region_code = e.region_code AND d.year = e.year)
)
SELECT
    unnest(growth_against_revenue(in_force, edu_now, edu_before, rev_now, rev_before)),   -- views.sql
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    year - 1 AS prev_year,
    CASE WHEN rev_now IS NULL THEN year ELSE year - 1 END AS missing_year,   -- of revenue, for the note
    fiscal_rows, budget_rows   -- the revenue cells first: the evidence shown is cut at 20 cells
FROM measured
