#include "myriad.h"
int main(void){return 0;}
