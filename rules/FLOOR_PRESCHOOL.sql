-- Public kindergartens: general-budget public funds per child against the floor.
-- The check is per_student_floor in views.sql, shared by every floor rule.
SELECT * FROM per_student_floor('public_funds_per_student', 'preschool',
                                $floor_preschool_public_funds_per_student, $regions, $years)
