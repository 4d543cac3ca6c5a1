-- The name of the open warehouse's database (its tables' `database_name`).
select current_database()
