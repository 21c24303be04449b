// Instantiates the interface header once, so its errors surface here first.
#include "actors/actors.hpp"
