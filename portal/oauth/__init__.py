"""Software access: OAuth 2.0 and SMART App Launch / Backend Services."""
