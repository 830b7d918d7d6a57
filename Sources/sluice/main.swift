print("sluice: not built yet")
