#include "lm/config.h"
