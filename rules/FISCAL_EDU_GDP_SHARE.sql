-- 国家财政性教育经费 of at least 4% of GDP ("一般不低于4%": 中国教育现代化2035, and the 2017
-- 意见 as reported). A national target: the nation's ledger (region code 100000, or 000000)
-- is held to it (check `national`, a violation); a province's is compared with it as a
-- warning (check `province`: provinces differ in GDP per head and in what the centre pays
-- them, so the national figure is a yardstick, not a duty of each). A city or county is not
-- compared: its GDP and its education funding (much of it transfers from above) measure
-- different things; where its fiscal sheet gives both, an info note says so once a year.
-- Compared exactly: fiscal_education x 100 against min_share x GDP.
WITH measured AS (
    SELECT region_code, region_name, year, gdp, fiscal_education, fiscal_rows,
           param($fiscal_education_gdp_share_min, region_code, year) AS min_share,
           CASE WHEN region_code IN ('100000', '000000') THEN 'national'
                WHEN region_code LIKE '__0000' THEN 'province'
                ELSE 'local' END AS tier
    FROM fiscal_by_region
    WHERE list_contains($regions, region_code) AND list_contains($years, year)
)
SELECT
    CASE WHEN tier <> 'local' THEN tier END AS check_name,
    CASE
        WHEN tier = 'local' THEN 'unevaluable'
        WHEN min_share IS NULL THEN 'unevaluable'
        WHEN coalesce(gdp, 0) = 0 OR fiscal_education IS NULL THEN 'unevaluable'
        WHEN fiscal_education * 100 < CAST(min_share AS DECIMAL(18, 4)) * gdp THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN tier = 'local' THEN 'local_region'
        WHEN min_share IS NULL THEN 'not_in_force'
        WHEN coalesce(gdp, 0) = 0 OR fiscal_education IS NULL THEN 'no_figures'
    END AS reason,
    region_code, region_name, year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
    CAST(fiscal_education AS DOUBLE) / CAST(nullif(gdp, 0) AS DOUBLE) * 100 AS actual,
    min_share AS required,
    CASE WHEN fiscal_education * 100 < CAST(min_share AS DECIMAL(18, 4)) * gdp
         THEN CAST(gdp AS DOUBLE) * min_share / 100 - CAST(fiscal_education AS DOUBLE)
    END AS shortfall_yuan,
    fiscal_rows
FROM measured
-- A city or county that gives no GDP and education figure is simply not this rule's subject.
WHERE NOT (tier = 'local' AND (gdp IS NULL OR fiscal_education IS NULL))
