@policy @sso @office365 @needs:office365-graph @needs:sso
Feature: The SSO-based integration is switched on by an administrator in Office 365
  "Prerequisites for Office 365 integration when signing in with SSO: ... Role as an
  administrator in Office 365". The integration knows an admin's Microsoft role from their own
  sign-ins at Microsoft (their own calendar integration, an authorization for the company): the
  Entra roles the ID token carries. Asking users to integrate on sign-in and integrating them
  automatically upon login are switched on only by an admin known to hold an Office 365
  administrator role; switching them off needs no role.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso" whose first member is an account admin
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "Read"
    And the admin changes the account settings:
      | setting                     | value |
      | sso_configured              | on    |
      | idp_federated               | on    |
      | office365_users_can_consent | on    |

  @req:SSO-05
  Scenario Outline: <setting> needs an admin known to Microsoft as an administrator in Office 365
    When the admin tries to change the account settings:
      | setting   | value   |
      | <setting> | <value> |
    Then the change is refused with "office365_admin_required" and a message containing "has not signed in at Microsoft"
    And the policy is unchanged
    When the admin integrates their own Office 365 calendar
    And the admin changes the account settings:
      | setting   | value   |
      | <setting> | <value> |
    Then the account setting "<setting>" is "<value>"

    Examples:
      | setting                     | value         |
      | ask_to_integrate_on_sign_in | every_sign_in |
      | auto_integrate_on_login     | on            |

  @req:SSO-05
  Scenario: An account admin whose Microsoft account holds no administrator role cannot switch the SSO integration on
    Given the account admin has integrated their own Office 365 calendar
    When the account admin tries to change the account settings:
      | setting                     | value         |
      | ask_to_integrate_on_sign_in | first_sign_in |
    Then the change is refused with "office365_admin_required" and a message containing "holds no administrator role in Office 365"
    And the policy is unchanged

  @req:SSO-05
  Scenario: Switching the SSO integration off needs no Office 365 role
    Given the admin has integrated their own Office 365 calendar
    And the admin changes the account settings:
      | setting                     | value         |
      | ask_to_integrate_on_sign_in | every_sign_in |
    When the account admin changes the account settings:
      | setting                     | value |
      | ask_to_integrate_on_sign_in | off   |
    Then the account setting "ask_to_integrate_on_sign_in" is "off"
