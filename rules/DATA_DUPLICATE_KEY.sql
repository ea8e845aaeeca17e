-- Rows that share a sheet's whole key (schemas/<sheet>.yaml `key`): counted twice by every
-- sum. Duplicate keys are found first; rows are listed only for them. The budget sheet's
-- key (eight columns, a million rows in a national ledger) is first grouped by its hash,
-- which is much cheaper than grouping by eight strings; the rows of a repeated hash are
-- then grouped by the key itself, so a hash collision is never reported.
WITH budget_dup AS (
    SELECT hash(region_code, year, level, ownership, fund_source, expense_class, school_id, basis) AS key_hash
    FROM budget
    GROUP BY key_hash HAVING count(*) > 1
),
enrollment_dup AS (
    SELECT region_code, year, level, ownership, school_id
    FROM enrollment
    GROUP BY ALL HAVING count(*) > 1
),
dup AS (
    SELECT 'budget' AS sheet, b.region_code, min(b.region_name) AS region_name, b.year, b.level, b.school_id,
           concat_ws(' ', b.level, b.ownership, b.fund_source, b.expense_class, b.school_id, b.basis) AS key_text,
           count(*) AS rows, list(b._row) AS budget_rows,
           CAST([] AS BIGINT[]) AS enrollment_rows, CAST([] AS BIGINT[]) AS surcharge_rows,
           CAST([] AS BIGINT[]) AS salaries_rows, CAST([] AS BIGINT[]) AS reference_rows
    FROM budget b SEMI JOIN budget_dup d
        ON hash(b.region_code, b.year, b.level, b.ownership, b.fund_source, b.expense_class, b.school_id, b.basis)
           = d.key_hash
    GROUP BY b.region_code, b.year, b.level, b.ownership, b.fund_source, b.expense_class, b.school_id, b.basis
    HAVING count(*) > 1
    UNION ALL
    SELECT 'enrollment', e.region_code, min(e.region_name), e.year, e.level, e.school_id,
           concat_ws(' ', e.level, e.ownership, e.school_id),
           count(*), [], list(e._row), [], [], []
    FROM enrollment e SEMI JOIN enrollment_dup d
        ON e.region_code = d.region_code AND e.year = d.year AND e.level = d.level AND e.ownership = d.ownership
       AND e.school_id IS NOT DISTINCT FROM d.school_id
    GROUP BY e.region_code, e.year, e.level, e.ownership, e.school_id
    UNION ALL
    SELECT 'surcharge', region_code, min(region_name), year, NULL, NULL, surcharge_type,
           count(*), [], [], list(_row), [], []
    FROM surcharge
    GROUP BY region_code, year, surcharge_type
    HAVING count(*) > 1
    UNION ALL
    SELECT 'salaries', region_code, min(region_name), year, NULL, NULL, pay_group,
           count(*), [], [], [], list(_row), []
    FROM salaries
    GROUP BY region_code, year, pay_group
    HAVING count(*) > 1
    UNION ALL
    SELECT 'reference', region_code, NULL, year, NULL, NULL, metric,
           count(*), [], [], [], [], list(_row)
    FROM reference
    GROUP BY region_code, year, metric
    HAVING count(*) > 1
)
SELECT 'fail' AS outcome, sheet AS check_name, sheet, region_code, region_name, year, level, school_id,
       CAST(rows AS DOUBLE) AS actual, 1.0 AS required, CAST(NULL AS DOUBLE) AS shortfall_yuan,
       rows, key_text, budget_rows, enrollment_rows, surcharge_rows, salaries_rows, reference_rows
FROM dup
WHERE list_contains($regions, region_code) OR region_code LIKE '%0000'
