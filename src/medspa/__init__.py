"""medspa: practice management for medical spas and aesthetic clinics."""
