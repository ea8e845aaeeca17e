-- Public funds per student of public compulsory schools against the provincial average, per
-- level (普通小学, 普通初中) where the reference sheet gives a level's average (Hebei publishes
-- the two apart); the two levels pooled only where it gives the pooled average alone, and
-- then the finding says so. Any per-level figure (the region's own or its province's) makes
-- the comparison per level; of two figures for one metric, the region's own wins.
WITH measured AS (
    SELECT region_code, min(region_name) AS region_name, year, level,
           sum(amount) AS amount, sum(students) AS students,
           flatten(list(budget_rows)) AS budget_rows,
           flatten(list(enrollment_rows)) AS enrollment_rows
    FROM public_funds_per_student
    WHERE school_id IS NULL AND level IN ('primary', 'junior')
      AND list_contains($regions, region_code) AND list_contains($years, year)
    GROUP BY GROUPING SETS ((region_code, year, level), (region_code, year))
),
reference_value AS (
    SELECT c.region_code, c.year, r.metric,
           arg_min(r.value, CASE WHEN r.region_code = c.region_code THEN 0 ELSE 1 END) AS value,
           arg_min(r._row, CASE WHEN r.region_code = c.region_code THEN 0 ELSE 1 END) AS ref_row
    FROM (SELECT DISTINCT region_code, year FROM measured) c
    JOIN reference r ON r.year = c.year
        AND r.metric IN ('provincial_avg_primary_public_funds_per_student',
                         'provincial_avg_junior_public_funds_per_student',
                         'provincial_avg_compulsory_public_funds_per_student')
        AND (r.region_code = c.region_code OR r.region_code = substr(c.region_code, 1, 2) || '0000')
    GROUP BY c.region_code, c.year, r.metric
),
by_level AS (
    SELECT region_code, year FROM reference_value
    WHERE metric <> 'provincial_avg_compulsory_public_funds_per_student'
    GROUP BY region_code, year
),
subjects AS (
    SELECT m.*, CASE m.level WHEN 'primary' THEN 'provincial_avg_primary_public_funds_per_student'
                             WHEN 'junior' THEN 'provincial_avg_junior_public_funds_per_student'
                             ELSE 'provincial_avg_compulsory_public_funds_per_student' END AS metric
    FROM measured m
    LEFT JOIN by_level b ON b.region_code = m.region_code AND b.year = m.year
    WHERE (m.level IS NOT NULL) = (b.region_code IS NOT NULL)
)
SELECT
    CASE
        WHEN NOT coalesce(param($compulsory_reach_provincial_average, c.region_code, c.year), false) THEN 'unevaluable'
        WHEN coalesce(c.students, 0) = 0 THEN 'unevaluable'
        WHEN c.amount IS NULL THEN 'unevaluable'
        WHEN r.value IS NULL THEN 'unevaluable'
        WHEN c.amount / c.students < r.value THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN NOT coalesce(param($compulsory_reach_provincial_average, c.region_code, c.year), false) THEN 'not_in_force'
        WHEN coalesce(c.students, 0) = 0 THEN 'no_students'
        WHEN c.amount IS NULL THEN 'no_public_funds'
        WHEN r.value IS NULL THEN 'no_reference'
    END AS reason,
    c.region_code, c.region_name, c.year, c.level, CAST(NULL AS VARCHAR) AS school_id,
    c.amount / nullif(c.students, 0) AS actual, r.value AS required,
    CASE WHEN c.amount / nullif(c.students, 0) < r.value THEN (r.value - c.amount / c.students) * c.students END
        AS shortfall_yuan,
    c.students, c.amount,
    c.level IS NULL AS pooled,
    CASE WHEN c.level = 'primary' THEN '普通小学' WHEN c.level = 'junior' THEN '普通初中'
         WHEN r.value IS NOT NULL THEN '义务教育（普通小学、初中合并计算：参照值表只给出两学段合并的全省平均）'
         ELSE '义务教育（普通小学、初中）' END AS scope_zh,
    CASE WHEN c.level = 'primary' THEN 'primary' WHEN c.level = 'junior' THEN 'junior secondary'
         WHEN r.value IS NOT NULL
             THEN 'compulsory (primary and junior pooled: the reference sheet gives only the pooled provincial average)'
         ELSE 'compulsory (primary and junior)' END AS scope_en,
    c.budget_rows, c.enrollment_rows,
    CASE WHEN r.ref_row IS NULL THEN [] ELSE [r.ref_row] END AS reference_rows
FROM subjects c
LEFT JOIN reference_value r ON r.region_code = c.region_code AND r.year = c.year AND r.metric = c.metric
