-- The month of the answering rating relation on this connection (answering_parameters).
select month from answering_parameters
