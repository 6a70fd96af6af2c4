// See gloo/rendezvous/store.h: every Gloo name ProcessGroupGloo.hpp needs is declared there.
#pragma once

#include "gloo/rendezvous/store.h"
