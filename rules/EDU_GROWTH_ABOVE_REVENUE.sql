-- 教育法 第五十六条: education appropriations grow faster than recurring fiscal revenue. Per
-- region and year: growth of general-budget education spending (final accounts, the fund
-- sources its profile counts) against growth of 财政经常性收入 from the fiscal sheet. "高于"
-- is strict: equal growth is not higher. Compared by cross-multiplication of the exact
-- amounts (edu_now x rev_before against edu_before x rev_now), never by rounded rates.
WITH edu AS (
    SELECT region_code, year, region_name, amount, budget_rows
    FROM general_budget_by_level
    WHERE level IS NULL AND basis = 'final'
),
revenue AS (
    SELECT region_code, year, min(region_name) AS region_name, sum(recurring_revenue) AS revenue,
           list(_row) AS fiscal_rows
    FROM fiscal
    GROUP BY region_code, year
),
measured AS (
    SELECT e.region_code, e.region_name, e.year,
           e.amount AS edu_now, e0.amount AS edu_before, r.revenue AS rev_now, r0.revenue AS rev_before,
           param($education_growth_above_revenue, e.region_code, e.year) AS required_above,
           flatten([e.budget_rows, coalesce(e0.budget_rows, [])]) AS budget_rows,
           flatten([coalesce(r.fiscal_rows, []), coalesce(r0.fiscal_rows, [])]) AS fiscal_rows
    FROM edu e
    LEFT JOIN edu e0 ON e0.region_code = e.region_code AND e0.year = e.year - 1
    LEFT JOIN revenue r ON r.region_code = e.region_code AND r.year = e.year
    LEFT JOIN revenue r0 ON r0.region_code = e.region_code AND r0.year = e.year - 1
    WHERE list_contains($regions, e.region_code) AND list_contains($years, e.year)
      AND NOT EXISTS (SELECT 1 FROM draft_only_region_years d WHERE d.region_code = e.region_code AND d.year = e.year)
)
SELECT
    CASE
        WHEN NOT coalesce(required_above, false) THEN 'unevaluable'
        WHEN rev_now IS NULL OR rev_before IS NULL THEN 'unevaluable'
        WHEN edu_before IS NULL THEN 'unevaluable'
        WHEN edu_before = 0 OR rev_before = 0 THEN 'unevaluable'
        WHEN edu_now * rev_before <= edu_before * rev_now THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN NOT coalesce(required_above, false) THEN 'not_in_force'
        WHEN rev_now IS NULL OR rev_before IS NULL THEN 'no_revenue'
        WHEN edu_before IS NULL THEN 'no_prior_year'
        WHEN edu_before = 0 OR rev_before = 0 THEN 'zero_base'
    END AS reason,
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    CAST(edu_now AS DOUBLE) / CAST(nullif(edu_before, 0) AS DOUBLE) * 100 - 100 AS actual,
    CAST(rev_now AS DOUBLE) / CAST(nullif(rev_before, 0) AS DOUBLE) * 100 - 100 AS required,
    -- what would have made education grow as fast as revenue: before x revenue growth - increase
    CASE WHEN rev_before > 0 AND edu_before > 0 AND edu_now * rev_before <= edu_before * rev_now
         THEN greatest(CAST(edu_before * rev_now AS DOUBLE) / CAST(rev_before AS DOUBLE) - CAST(edu_now AS DOUBLE), 0)
    END AS shortfall_yuan,
    CAST(edu_before AS DOUBLE) AS edu_before, CAST(edu_now AS DOUBLE) AS edu_now,
    year - 1 AS prev_year,
    budget_rows, fiscal_rows
FROM measured
