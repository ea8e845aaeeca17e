-- Public general high schools: general-budget public funds per student against the floor.
-- The check is per_student_floor in views.sql, shared by every floor rule.
SELECT * FROM per_student_floor('public_funds_per_student', 'senior_general',
                                $floor_senior_general_public_funds_per_student, $regions, $years)
