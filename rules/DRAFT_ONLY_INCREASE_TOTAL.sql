-- Draft budgets (口径 = 预算): a region's general-public-budget education spending planned
-- for a year against the final accounts (决算) of the year before, or against the
-- previous year restated on the draft's basis (同口径) when every draft row carries it.
WITH drafts AS (     -- rules/views.sql: the region totals are its rows without a level
    SELECT region_code, year, region_name, amount, n_rows, n_restated, restated_prior, budget_rows
    FROM general_budget_by_level
    WHERE basis = 'budget' AND level IS NULL AND list_contains($regions, region_code)
),
finals AS (
    SELECT region_code, year, amount, budget_rows
    FROM general_budget_by_level
    WHERE basis = 'final' AND level IS NULL AND list_contains($regions, region_code)
),
paired AS (
    SELECT d.*,
           f.budget_rows AS prev_rows,
           CASE WHEN d.n_restated = d.n_rows THEN d.restated_prior ELSE f.amount END AS base,
           CASE WHEN d.n_restated = d.n_rows THEN 'comparable' ELSE 'raw' END AS comparison
    FROM drafts d
    LEFT JOIN finals f ON f.region_code = d.region_code AND f.year = d.year - 1
    WHERE list_contains($years, d.year)
)
SELECT
    CASE
        WHEN NOT coalesce(param($only_increase_required, region_code, year), false) THEN 'unevaluable'
        WHEN n_restated > 0 AND n_restated < n_rows THEN 'unevaluable'
        WHEN base IS NULL THEN 'unevaluable'
        WHEN amount < base THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN NOT coalesce(param($only_increase_required, region_code, year), false) THEN 'not_in_force'
        WHEN n_restated > 0 AND n_restated < n_rows THEN 'partial_restatement'
        WHEN base IS NULL THEN 'no_final_prior_year'
        ELSE comparison
    END AS reason,
    region_code, region_name, year, year - 1 AS prev_year,
    CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    amount AS actual,
    base AS required,
    CASE WHEN amount < base THEN base - amount END AS shortfall_yuan,
    comparison,
    CASE WHEN comparison = 'raw' THEN list_concat(budget_rows, coalesce(prev_rows, [])) ELSE budget_rows END
        AS budget_rows
FROM paired
