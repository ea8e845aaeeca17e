-- Secondary vocational share of the year's increase vs its share of the previous year.
WITH totals AS (     -- rules/views.sql: each region-year's total, and its vocational level
    SELECT t.region_code, t.region_name, t.year, t.amount AS total,
           coalesce(v.amount, 0) AS vocational, v.budget_rows
    FROM general_budget_by_level t
    LEFT JOIN general_budget_by_level v
        ON v.region_code = t.region_code AND v.year = t.year AND v.basis = 'final' AND v.level = 'secondary_vocational'
    WHERE t.basis = 'final' AND t.level IS NULL AND list_contains($regions, t.region_code)
),
paired AS (
    SELECT cur.region_code, cur.region_name, cur.year, cur.year - 1 AS prev_year,
           cur.total - prev.total AS increase,
           cur.vocational - prev.vocational AS vocational_increase,
           prev.vocational / nullif(prev.total, 0) AS prev_share,
           prev.total IS NULL AS no_prior,
           list_concat(coalesce(cur.budget_rows, []), coalesce(prev.budget_rows, [])) AS budget_rows,
           coalesce(param($new_funds_tilt_vocational, cur.region_code, cur.year), false) AS in_force
    FROM totals cur
    LEFT JOIN totals prev ON prev.region_code = cur.region_code AND prev.year = cur.year - 1
    WHERE list_contains($years, cur.year)
)
SELECT
    CASE
        WHEN NOT in_force THEN 'unevaluable'
        WHEN no_prior THEN 'unevaluable'
        WHEN increase <= 0 THEN 'unevaluable'
        WHEN prev_share IS NULL THEN 'unevaluable'
        -- quotients, not products: equal shares compare equal in floating point
        WHEN vocational_increase / increase < prev_share THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN NOT in_force THEN 'not_in_force'
        WHEN no_prior THEN 'no_prior_year'
        WHEN increase <= 0 THEN 'no_increase'
        WHEN prev_share IS NULL THEN 'no_prior_spending'
    END AS reason,
    region_code, region_name, year, prev_year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    100.0 * vocational_increase / nullif(increase, 0) AS actual, 100.0 * prev_share AS required,
    CASE WHEN increase > 0 AND vocational_increase / increase < prev_share
         THEN prev_share * increase - vocational_increase END AS shortfall_yuan,
    increase, vocational_increase, budget_rows
FROM paired
