// Placeholder until the proxy lands.
