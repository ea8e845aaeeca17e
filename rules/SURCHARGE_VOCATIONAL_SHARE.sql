-- Share of the counted surcharge types spent on vocational education, per region and year
-- (check main). A region and year with budget rows but no surcharge rows is reported as not
-- evaluable. A type the clause does not name is never pooled in: its own share is observed
-- (check other_type, info, no gap).
WITH subjects AS (
    SELECT region_code, year FROM surcharge
    UNION SELECT region_code, year FROM audited_region_years
),
counted AS (
    SELECT j.region_code, j.year, s.region_name, s.surcharge_type, s.collected, s.vocational, s._row,
           param($surcharge_vocational_share_min, j.region_code, j.year) AS min_share,
           param($surcharge_types_counted, j.region_code, j.year) AS types
    FROM subjects j
    LEFT JOIN surcharge s ON s.region_code = j.region_code AND s.year = j.year
    WHERE list_contains($regions, j.region_code) AND list_contains($years, j.year)
),
totals AS (
    SELECT c.region_code, coalesce(min(c.region_name), min(a.region_name)) AS region_name, c.year,
           c.min_share, c.types,
           sum(collected) FILTER (WHERE list_contains(types, surcharge_type)) AS collected,
           sum(vocational) FILTER (WHERE list_contains(types, surcharge_type)) AS vocational,
           list(_row) FILTER (WHERE list_contains(types, surcharge_type)) AS surcharge_rows
    FROM counted c
    LEFT JOIN audited_region_years a ON a.region_code = c.region_code AND a.year = c.year
    -- min_share and types depend on the region and year only; grouping by them (rather
    -- than any_value, which skips NULLs) keeps it portable: sqlglot cannot write that for Postgres.
    GROUP BY c.region_code, c.year, c.min_share, c.types
),
others AS (
    SELECT region_code, min(region_name) AS region_name, year, min_share, surcharge_type,
           sum(collected) AS collected, sum(vocational) AS vocational, list(_row) AS surcharge_rows
    FROM counted
    WHERE types IS NOT NULL AND surcharge_type IS NOT NULL AND NOT list_contains(types, surcharge_type)
    GROUP BY region_code, year, min_share, surcharge_type
    HAVING sum(collected) > 0
)
SELECT
    'main' AS check_name,
    CASE
        WHEN min_share IS NULL OR types IS NULL THEN 'unevaluable'
        WHEN coalesce(collected, 0) = 0 THEN 'unevaluable'
        -- quotients, not products: exactly 30% compares equal in floating point
        WHEN vocational / collected < min_share / 100.0 THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN min_share IS NULL OR types IS NULL THEN 'not_in_force'
        WHEN coalesce(collected, 0) = 0 THEN 'no_surcharge'
    END AS reason,
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    100.0 * vocational / nullif(collected, 0) AS actual, min_share AS required,
    CASE WHEN vocational / collected < min_share / 100.0 THEN min_share / 100.0 * collected - vocational END
        AS shortfall_yuan,
    collected, vocational, types, coalesce(surcharge_rows, []) AS surcharge_rows
FROM totals
UNION ALL
SELECT
    'other_type' AS check_name, 'fail' AS outcome, CAST(NULL AS VARCHAR) AS reason,
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    100.0 * vocational / collected AS actual, min_share AS required, CAST(NULL AS DOUBLE) AS shortfall_yuan,
    collected, vocational, [surcharge_type] AS types, surcharge_rows
FROM others
