-- Draft budgets (口径 = 预算): general-budget education spending per student planned for a
-- year against the previous year's final accounts (决算) per student, for the region
-- overall (level NULL) and for each level. The draft is divided by the draft year's
-- enrollment when the ledger has it (planned), else by the previous year's; spending of
-- the level `other` counts in the overall figure only.
WITH drafts AS (     -- rules/views.sql
    SELECT region_code, year, level, region_name, amount, n_rows, n_restated, restated_prior, budget_rows
    FROM general_budget_by_level
    WHERE basis = 'budget' AND list_contains($regions, region_code)
),
finals AS (
    SELECT region_code, year, level, amount, budget_rows
    FROM general_budget_by_level
    WHERE basis = 'final' AND list_contains($regions, region_code)
),
heads AS (
    SELECT region_code, year, level, students, enrollment_rows
    FROM enrollment_by_level
    WHERE list_contains($regions, region_code)
),
paired AS (
    SELECT d.*,
           coalesce(now_h.students, prev_h.students) AS students,
           CASE WHEN now_h.students IS NOT NULL THEN 'planned'
                WHEN prev_h.students IS NOT NULL THEN 'previous_year' END AS students_from,
           CASE WHEN d.n_restated = d.n_rows THEN d.restated_prior ELSE f.amount END AS base_amount,
           prev_h.students AS base_students,
           CASE WHEN d.n_restated = d.n_rows THEN 'comparable' ELSE 'raw' END AS comparison,
           f.budget_rows AS prev_budget_rows,
           coalesce(now_h.enrollment_rows, []) AS now_enrollment_rows,
           coalesce(prev_h.enrollment_rows, []) AS prev_enrollment_rows
    FROM drafts d
    LEFT JOIN finals f ON f.region_code = d.region_code AND f.year = d.year - 1
                      AND f.level IS NOT DISTINCT FROM d.level
    LEFT JOIN heads now_h ON now_h.region_code = d.region_code AND now_h.year = d.year
                         AND now_h.level IS NOT DISTINCT FROM d.level
    LEFT JOIN heads prev_h ON prev_h.region_code = d.region_code AND prev_h.year = d.year - 1
                          AND prev_h.level IS NOT DISTINCT FROM d.level
    WHERE d.level IS DISTINCT FROM 'other' AND list_contains($years, d.year)
),
measured AS (
    SELECT *,
           amount / nullif(students, 0) AS per_student,
           base_amount / nullif(base_students, 0) AS base_per_student
    FROM paired
)
SELECT
    CASE
        WHEN NOT coalesce(param($only_increase_required, region_code, year), false) THEN 'unevaluable'
        WHEN coalesce(students, 0) = 0 THEN 'unevaluable'
        WHEN n_restated > 0 AND n_restated < n_rows THEN 'unevaluable'
        WHEN base_per_student IS NULL THEN 'unevaluable'
        WHEN per_student < base_per_student THEN 'fail'
        ELSE 'pass'
    END AS outcome,
    CASE
        WHEN NOT coalesce(param($only_increase_required, region_code, year), false) THEN 'not_in_force'
        WHEN coalesce(students, 0) = 0 THEN 'no_students'
        WHEN n_restated > 0 AND n_restated < n_rows THEN 'partial_restatement'
        WHEN base_per_student IS NULL THEN 'no_final_prior_year'
        ELSE comparison
    END AS reason,
    region_code, region_name, year, year - 1 AS prev_year, level, CAST(NULL AS VARCHAR) AS school_id,
    per_student AS actual,
    base_per_student AS required,
    CASE WHEN per_student < base_per_student THEN (base_per_student - per_student) * students END
        AS shortfall_yuan,
    CASE students_from WHEN 'planned' THEN '草案年度在校生' ELSE '上年在校生' END AS students_from_zh,
    CASE students_from WHEN 'planned' THEN 'planned' ELSE 'previous-year' END AS students_from_en,
    students, students_from, amount, base_amount, base_students, comparison,
    CASE WHEN comparison = 'raw' THEN list_concat(budget_rows, coalesce(prev_budget_rows, [])) ELSE budget_rows END
        AS budget_rows,
    list_concat(now_enrollment_rows, prev_enrollment_rows) AS enrollment_rows
FROM measured
