-- The plans' indicator targets (规划指标). Per audited region and year, each target its
-- profile has in force (table plan_targets, written by the engine from the profile's
-- plan_targets), against the indicators sheet's value of that indicator in that year:
-- - in and after the target year, a value short of the target misses it: check `binding`
--   (约束性, violation) or `expected` (预期性, warning); no value -> not evaluated (no_value);
-- - before it, where the plan gives a baseline, the straight path from (baseline_year,
--   baseline) to (target_year, target): a value behind it is check `path` (info). Without a
--   baseline, or without a value, nothing is said before the target year (progress is
--   information, not a requirement, until the target year).
-- Exact arithmetic: values and targets are DECIMAL. The path at year y is
-- (baseline x span + (target - baseline) x elapsed) / span, rounded half up to 0.01 in the
-- indicator's unit (the precision the plans print their figures in) with integer arithmetic,
-- and a value is behind it when it is below that rounded path: 96.31 -> 98 over 2020-2025
-- gives 97.324 in 2023, rounded 97.32; 97.32 is on the path, 97.31 behind by 0.01.
-- Direction (schemas/enums.yaml): higher (the value must reach the target) or lower.
-- The check name is qualified by the indicator (binding.compulsory_consolidation): two
-- indicators of one region-year are two findings.
-- Subjects: the audited region-years and those the indicators sheet reports (a plan's final
-- year may be reported before its budget is in the ledger).
WITH audited AS (
    SELECT region_code, min(region_name) AS region_name, year
    FROM (SELECT region_code, region_name, year FROM audited_region_years
          UNION ALL SELECT region_code, region_name, year FROM indicators) a
    WHERE list_contains($regions, region_code) AND list_contains($years, year)
    GROUP BY region_code, year
),
reported AS (
    SELECT region_code, year, indicator, min(region_name) AS region_name,
           min(value) AS value, min(value) <> max(value) AS conflicting, list(_row) AS indicators_rows
    FROM indicators
    GROUP BY region_code, year, indicator
),
measured AS (
    SELECT a.region_code, coalesce(r.region_name, a.region_name) AS region_name, a.year,
           t.indicator, t.target, t.target_year, t.baseline, t.baseline_year, t.attribute, t.direction,
           t.indicator_zh, t.indicator_en, t.unit_zh, t.unit_en, t.gap_unit_zh, t.gap_unit_en,
           t.attribute_zh, t.attribute_en,
           r.value, coalesce(r.conflicting, false) AS conflicting, coalesce(r.indicators_rows, []) AS indicators_rows,
           -- the path this year, in hundredths, rounded half up (all terms are non-negative):
           -- the numerator (4 decimals) in ten-thousandths is an exact integer, + span/2 hundredths, // span
           CASE WHEN a.year < t.target_year AND a.year >= t.baseline_year THEN
               CAST(CAST(CAST((t.baseline * (t.target_year - t.baseline_year)
                                + (t.target - t.baseline) * (a.year - t.baseline_year)) * 100 * 100 AS BIGINT)
                         + 50 * (t.target_year - t.baseline_year)
                    AS BIGINT) // (100 * (t.target_year - t.baseline_year)) AS DECIMAL(18, 0))
               * CAST(0.01 AS DECIMAL(3, 2))
           END AS path
    FROM audited a
    JOIN plan_targets t ON t.region_code = a.region_code AND t.year = a.year
    LEFT JOIN reported r ON r.region_code = a.region_code AND r.year = a.year AND r.indicator = t.indicator
),
judged AS (
    SELECT *,
           year >= target_year AS due,
           -- a percentage written as a fraction (a cell formatted as 93.5% holds 0.935): read as
           -- it is, it would miss every target by some 90 points; said as a slip, never judged
           coalesce(unit_zh = '%' AND value > 0 AND value <= 1 AND target > 1, false) AS fraction,
           CASE WHEN year >= target_year THEN target ELSE path END AS expected_value
    FROM measured
    WHERE year >= target_year OR (path IS NOT NULL AND value IS NOT NULL)
)
SELECT
    CASE
        WHEN value IS NULL OR conflicting THEN 'unevaluable'
        WHEN fraction THEN 'fail'
        WHEN direction = 'lower' AND value > expected_value THEN 'fail'
        WHEN direction <> 'lower' AND value < expected_value THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE WHEN fraction AND NOT conflicting THEN 'fraction' WHEN due THEN attribute ELSE 'path' END
        || '.' || indicator AS check_name,
    CASE WHEN value IS NULL THEN 'no_value' WHEN conflicting THEN 'conflicting_values' END AS reason,
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    CAST(value AS DOUBLE) AS actual, CAST(expected_value AS DOUBLE) AS required,
    CAST(abs(expected_value - value) AS DOUBLE) AS gap,
    CAST(NULL AS DOUBLE) AS shortfall_yuan,      -- the gap is in the indicator's unit, not money
    indicator, CAST(target AS DOUBLE) AS target, target_year, attribute,
    indicator_zh, indicator_en, unit_zh, unit_en, gap_unit_zh, gap_unit_en, attribute_zh, attribute_en,
    unit_zh AS unit,        -- the finding's measure unit: the indicator's, not the rule's
    indicators_rows
FROM judged
UNION ALL
-- A region-year whose profile sets no plan target in force: said once, not per indicator.
SELECT 'unevaluable', 'main', 'not_in_force', a.region_code, a.region_name, a.year, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, CAST([] AS BIGINT[])
FROM audited a
WHERE NOT EXISTS (SELECT 1 FROM plan_targets t WHERE t.region_code = a.region_code AND t.year = a.year)
