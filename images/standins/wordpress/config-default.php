<?php
/* labharness wordpress stand-in: the official image's settings, read from the environment
 * (Debian's /usr/share/wordpress/wp-config.php includes this file when no host-specific
 * /etc/wordpress/config-<host>.php exists). */
function labharness_env($name, $default) {
    $v = getenv($name);
    if ($v === false || $v === '') {
        $file = getenv($name . '_FILE');
        if ($file !== false && is_readable($file)) {
            return rtrim(file_get_contents($file), "\r\n");
        }
        return $default;
    }
    return $v;
}
define('DB_NAME', labharness_env('WORDPRESS_DB_NAME', 'wordpress'));
define('DB_USER', labharness_env('WORDPRESS_DB_USER', 'example username'));
define('DB_PASSWORD', labharness_env('WORDPRESS_DB_PASSWORD', 'example password'));
define('DB_HOST', labharness_env('WORDPRESS_DB_HOST', 'mysql'));
define('DB_CHARSET', labharness_env('WORDPRESS_DB_CHARSET', 'utf8'));
define('DB_COLLATE', labharness_env('WORDPRESS_DB_COLLATE', ''));
$table_prefix = labharness_env('WORDPRESS_TABLE_PREFIX', 'wp_');
define('WP_DEBUG', !!labharness_env('WORDPRESS_DEBUG', ''));
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('AUTH_KEY', labharness_env('WORDPRESS_AUTH_KEY', 'labharness-stand-in'));
define('SECURE_AUTH_KEY', labharness_env('WORDPRESS_SECURE_AUTH_KEY', 'labharness-stand-in'));
define('LOGGED_IN_KEY', labharness_env('WORDPRESS_LOGGED_IN_KEY', 'labharness-stand-in'));
define('NONCE_KEY', labharness_env('WORDPRESS_NONCE_KEY', 'labharness-stand-in'));
define('AUTH_SALT', labharness_env('WORDPRESS_AUTH_SALT', 'labharness-stand-in'));
define('SECURE_AUTH_SALT', labharness_env('WORDPRESS_SECURE_AUTH_SALT', 'labharness-stand-in'));
define('LOGGED_IN_SALT', labharness_env('WORDPRESS_LOGGED_IN_SALT', 'labharness-stand-in'));
define('NONCE_SALT', labharness_env('WORDPRESS_NONCE_SALT', 'labharness-stand-in'));
