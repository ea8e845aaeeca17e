-- Years missing between a region's first and last year, in budget and in enrollment.
WITH spans AS (
    SELECT 'budget' AS sheet, region_code, min(region_name) AS region_name, min(year) AS first_year,
           max(year) AS last_year, list(DISTINCT year) AS years
    FROM budget WHERE list_contains($regions, region_code) GROUP BY region_code
    UNION ALL
    SELECT 'enrollment', region_code, min(region_name), min(year), max(year), list(DISTINCT year)
    FROM enrollment WHERE list_contains($regions, region_code) GROUP BY region_code
)
SELECT 'fail' AS outcome, sheet AS check_name, sheet, region_code, region_name, y AS year, y + 1 AS next_year,
       CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
       CAST(NULL AS DOUBLE) AS actual, CAST(NULL AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS shortfall_yuan,
       first_year, last_year
-- generate_series and its guard, not range(): Spark has no lateral range(), and its sequence()
-- counts down when the end is before the start (a region of a single year)
FROM spans, unnest(generate_series(first_year + 1, last_year - 1)) AS r(y)
WHERE y > first_year AND y < last_year AND NOT list_contains(years, y)
