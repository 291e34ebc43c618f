"""Health measures (mesures de santé): weight, blood pressure, heart rate, blood glucose,
temperature and oxygen saturation over time, with their charts, recorded by the patient or a
professional."""
