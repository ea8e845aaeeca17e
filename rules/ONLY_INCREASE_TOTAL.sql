-- Region total of general-public-budget education spending (final accounts), year vs
-- the previous year; the previous year restated on this year's basis (同口径) when every
-- row of the year carries prior_year_comparable.
WITH totals AS (     -- rules/views.sql: the region totals are its rows without a level
    SELECT region_code, year, region_name, amount, n_rows, n_restated, restated_prior, budget_rows
    FROM general_budget_by_level
    WHERE basis = 'final' AND level IS NULL AND list_contains($regions, region_code)
),
paired AS (
    SELECT cur.*,
           prev.amount AS prev_amount,
           prev.budget_rows AS prev_rows,
           CASE WHEN cur.n_restated = cur.n_rows THEN cur.restated_prior ELSE prev.amount END AS base,
           CASE WHEN cur.n_restated = cur.n_rows THEN 'comparable' ELSE 'raw' END AS comparison
    FROM totals cur
    LEFT JOIN totals prev ON prev.region_code = cur.region_code AND prev.year = cur.year - 1
    WHERE list_contains($years, cur.year)
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
        WHEN base IS NULL THEN 'no_prior_year'
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
