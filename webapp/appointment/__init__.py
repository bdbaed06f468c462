"""Appointment pages: start an appointment, open the ballot box of the step an appointment is at."""
