-- A region code a profile names, written beside another region's name. The code decides
-- which profile's standards apply, so 130682 typed for 涞源县 would hold 涞源县 to
-- Dingzhou's plan: the audit says so rather than apply it silently. A name is the same
-- region when it contains the known name without its 市/县/区 suffix (定州市 in 邢台市定州市
-- is still 定州), or is a part of two characters or more of it (定州 for 定州市; 定 is not).
WITH known AS (
    -- one unnest of the entries, not one of the keys beside one of the values: Spark
    -- would make every key meet every value
    SELECT e.key AS region_code, e.value AS known_name
    FROM (SELECT unnest(map_entries($region_names)) AS e) AS entries
), labelled AS (
    SELECT region_code, region_name, 'budget' AS sheet, _row FROM budget
    UNION ALL SELECT region_code, region_name, 'enrollment', _row FROM enrollment
    UNION ALL SELECT region_code, region_name, 'surcharge', _row FROM surcharge
    UNION ALL SELECT region_code, region_name, 'salaries', _row FROM salaries
)
SELECT
    'fail' AS outcome,
    l.region_code,
    l.region_name,
    CAST(NULL AS INTEGER) AS year,
    k.known_name,
    count(*) AS rows,
    count(*) AS actual,
    list(l._row) FILTER (WHERE l.sheet = 'budget') AS budget_rows,
    list(l._row) FILTER (WHERE l.sheet = 'enrollment') AS enrollment_rows,
    list(l._row) FILTER (WHERE l.sheet = 'surcharge') AS surcharge_rows,
    list(l._row) FILTER (WHERE l.sheet = 'salaries') AS salaries_rows
FROM labelled AS l
JOIN known AS k USING (region_code)
WHERE l.region_code = ANY($regions)
  AND l.region_name IS NOT NULL
  AND NOT (length(l.region_name) >= 2 AND strpos(k.known_name, l.region_name) > 0)
  AND strpos(l.region_name, regexp_replace(k.known_name, '(自治县|市|县|区|旗|省)$', '')) = 0
GROUP BY l.region_code, l.region_name, k.known_name
