/*
 * price.h
 *		The national price: its cache, o2o_national_price and the order guard.
 */
#ifndef O2O_PRICE_H
#define O2O_PRICE_H

/* Register the relcache callback that invalidates the price cache. */
extern void O2oPriceInit(void);

#endif							/* O2O_PRICE_H */
