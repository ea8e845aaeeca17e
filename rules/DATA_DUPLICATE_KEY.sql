-- Rows that share a sheet's whole key (schemas/<sheet>.yaml `key`): counted twice by every sum.
WITH dup AS (
    SELECT 'budget' AS sheet, region_code, min(region_name) AS region_name, year, level, school_id,
           concat_ws(' ', level, ownership, fund_source, expense_class, school_id, basis) AS key_text,
           count(*) AS rows, list({'sheet': 'budget', 'row': _row, 'col': 'amount'} ORDER BY _row) AS evidence
    FROM budget
    GROUP BY region_code, year, level, ownership, fund_source, expense_class, school_id, basis
    HAVING count(*) > 1
    UNION ALL
    SELECT 'enrollment', region_code, min(region_name), year, level, school_id,
           concat_ws(' ', level, ownership, school_id),
           count(*), list({'sheet': 'enrollment', 'row': _row, 'col': 'students'} ORDER BY _row)
    FROM enrollment
    GROUP BY region_code, year, level, ownership, school_id
    HAVING count(*) > 1
    UNION ALL
    SELECT 'surcharge', region_code, min(region_name), year, NULL, NULL, surcharge_type,
           count(*), list({'sheet': 'surcharge', 'row': _row, 'col': 'collected'} ORDER BY _row)
    FROM surcharge
    GROUP BY region_code, year, surcharge_type
    HAVING count(*) > 1
    UNION ALL
    SELECT 'salaries', region_code, min(region_name), year, NULL, NULL, pay_group,
           count(*), list({'sheet': 'salaries', 'row': _row, 'col': 'total_pay'} ORDER BY _row)
    FROM salaries
    GROUP BY region_code, year, pay_group
    HAVING count(*) > 1
    UNION ALL
    SELECT 'reference', region_code, NULL, year, NULL, NULL, metric,
           count(*), list({'sheet': 'reference', 'row': _row, 'col': 'value'} ORDER BY _row)
    FROM reference
    GROUP BY region_code, year, metric
    HAVING count(*) > 1
)
SELECT 'fail' AS outcome, sheet AS check_name, sheet, region_code, region_name, year, level, school_id,
       CAST(rows AS DOUBLE) AS actual, 1.0 AS required, CAST(NULL AS DOUBLE) AS shortfall_yuan,
       rows, key_text, evidence
FROM dup
WHERE list_contains($regions, region_code) OR region_code LIKE '%0000'
