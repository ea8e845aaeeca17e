-- 义务教育法 第四十二条第三款: appropriations for compulsory education grow in a higher proportion
-- than recurring fiscal revenue. Per region and year: the general-budget spending (final
-- accounts, the fund sources its profile counts) of the levels its profile counts as
-- compulsory education (小学, 初中, 特殊教育 nationally), summed, against the growth of
-- 财政经常性收入. A year is compared with the levels counted in that year in both years.
-- The verdict and the gap are views.sql's growth macros, shared with EDU_GROWTH_ABOVE_REVENUE.
WITH compulsory AS (
    SELECT region_code, year, min(region_name) AS region_name, sum(amount) AS amount,
           flatten(list(budget_rows)) AS budget_rows
    FROM general_budget_by_level
    WHERE level IS NOT NULL AND basis = 'final'
      AND list_contains(coalesce(param($compulsory_education_levels, region_code, year + 1), []), level)
    GROUP BY region_code, year
),
compulsory_now AS (
    SELECT region_code, year, min(region_name) AS region_name, sum(amount) AS amount,
           flatten(list(budget_rows)) AS budget_rows
    FROM general_budget_by_level
    WHERE level IS NOT NULL AND basis = 'final'
      AND list_contains(coalesce(param($compulsory_education_levels, region_code, year), []), level)
    GROUP BY region_code, year
),
measured AS (
    SELECT c.region_code, c.region_name, c.year,
           c.amount AS edu_now, c0.amount AS edu_before, r.revenue AS rev_now, r0.revenue AS rev_before,
           param($compulsory_growth_above_revenue, c.region_code, c.year) AS in_force,
           param($compulsory_education_levels, c.region_code, c.year) AS levels,
           flatten([c.budget_rows, coalesce(c0.budget_rows, [])]) AS budget_rows,
           flatten([coalesce(r.fiscal_rows, []), coalesce(r0.fiscal_rows, [])]) AS fiscal_rows
    FROM compulsory_now c
    LEFT JOIN compulsory c0 ON c0.region_code = c.region_code AND c0.year = c.year - 1
    LEFT JOIN fiscal_by_region r ON r.region_code = c.region_code AND r.year = c.year
    LEFT JOIN fiscal_by_region r0 ON r0.region_code = c.region_code AND r0.year = c.year - 1
    WHERE list_contains($regions, c.region_code) AND list_contains($years, c.year)
      AND NOT EXISTS (SELECT 1 FROM draft_only_region_years d WHERE d.region_code = c.region_code AND d.year = c.year)
)
SELECT
    unnest(growth_against_revenue(in_force, edu_now, edu_before, rev_now, rev_before)),   -- views.sql
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    year - 1 AS prev_year,
    CASE WHEN rev_now IS NULL THEN year ELSE year - 1 END AS missing_year,   -- of revenue, for the note
    levels,
    fiscal_rows, budget_rows   -- the revenue cells first: the evidence shown is cut at 20 cells
FROM measured
